#!/bin/sh
# Installs what Kiln needs on a Debian/Ubuntu host, idempotently and quickly when
# everything is already there: Debian packages (as root), npm dependencies, the build.
set -eu
cd "$(dirname "$0")/.."

# runc runs instances; e2fsprogs makes ext4 volumes; util-linux mounts/losetup/fsfreeze;
# busybox-static is the minimal image's userland; openssl is the benchmark's hashing floor;
# awscli is the AWS CLI v2 the end-to-end tests drive; iproute2 gives instances their network
# (namespaces, veth, bridges) and nftables keeps VPCs apart;
# openssh-client's ssh-keygen checks, in the tests, the key pairs Kiln makes, and its ssh logs in to
# instances; python3 runs each instance's console shim (libexec/kiln-shim.py); mmdebstrap builds the
# Debian 12 image from Debian's archive; xfsprogs makes the XFS volume pool (reflink clones); python3-boto3 runs the boto3 story test and packer (HashiCorp
# Packer 1.6.6, amazon-ebs builder) the Packer story (terraform is not in Debian's archive: the
# Terraform story needs it on PATH); qemu-utils' qemu-img converts qcow2 disks for `kiln image import`; zstd is the
# bench's baseline for compression; chromium is the browser the web console's test drives (playwright-core, no
# browser download).
PACKAGES="runc e2fsprogs util-linux mount busybox-static openssl awscli iproute2 nftables openssh-client python3 mmdebstrap xfsprogs python3-boto3 packer qemu-utils zstd chromium lxcfs"

missing=""
if command -v dpkg-query >/dev/null 2>&1; then
  for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
fi
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "kiln setup: installing Debian packages:$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
  else
    echo "kiln setup: missing Debian packages:$missing (run as root to install them; 'kiln doctor' explains what each is for)" >&2
  fi
fi

stamp=node_modules/.kiln-installed
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "kiln setup: installing npm dependencies" >&2
  npm ci --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi

if [ ! -f dist/.built ] || [ -n "$(find src -newer dist/.built -name '*.ts' -print -quit)" ]; then
  echo "kiln setup: building" >&2
  rm -rf dist
  npx tsc -p tsconfig.build.json
  touch dist/.built
fi

# The web console (console/: React + Cloudscape), bundled by Vite into dist-console/, which `kiln serve` serves at /.
if [ ! -f dist-console/.built ] || [ -n "$(find console package-lock.json -newer dist-console/.built -type f -print -quit)" ]; then
  echo "kiln setup: building the web console" >&2
  npx vite build --config console/vite.config.ts --logLevel error
  touch dist-console/.built
fi

# The `kiln` command on PATH: as root, a symlink in /usr/local/bin to this checkout's bin/kiln.js
# (replaced only when it is a symlink: a kiln installed some other way is left alone).
link=/usr/local/bin/kiln
if [ "$(id -u)" = 0 ] && [ -d /usr/local/bin ] && { [ ! -e "$link" ] || [ -L "$link" ]; }; then
  [ "$(readlink "$link" 2>/dev/null)" = "$PWD/bin/kiln.js" ] || ln -sfn "$PWD/bin/kiln.js" "$link"
elif ! command -v kiln >/dev/null 2>&1; then
  echo "kiln setup: to type 'kiln' anywhere, add $PWD/bin to PATH (or: npm link)" >&2
fi
