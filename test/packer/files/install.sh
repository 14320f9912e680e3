#!/bin/sh
# Run by Packer's shell provisioner, as root (sudo), after the file provisioners
# have put kiln-hello and kiln-hello.service in /tmp. Installs and enables the
# service, and checks that it answers before the image is captured.
set -eu

python3 -c 'import http.server' # the image's python3 (cloud-init's) has the module

install -d -m 0755 /srv/kiln-hello
printf 'baked by packer: %s\n' "${KILN_MARKER:?KILN_MARKER is not set}" > /srv/kiln-hello/index.html
install -m 0755 /tmp/kiln-hello /usr/local/bin/kiln-hello
install -m 0644 /tmp/kiln-hello.service /etc/systemd/system/kiln-hello.service
rm -f /tmp/kiln-hello /tmp/kiln-hello.service

systemctl daemon-reload
systemctl enable kiln-hello.service
systemctl start kiln-hello.service

# Fails the build (and so the test, with this output) unless the page is served.
python3 - <<'PY'
import sys, time, urllib.request
for attempt in range(30):
    try:
        body = urllib.request.urlopen('http://127.0.0.1:8080/', timeout=2).read().decode()
        print('kiln-hello answers:', body.strip())
        sys.exit(0)
    except OSError as err:
        last = err
        time.sleep(1)
print('kiln-hello does not answer on 127.0.0.1:8080:', last, file=sys.stderr)
sys.exit(1)
PY
