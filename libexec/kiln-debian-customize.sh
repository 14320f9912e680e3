#!/bin/sh
# mmdebstrap --customize-hook for Kiln's Debian 12 image: makes the root filesystem ($1)
# boot under runc as a Kiln instance (docs/debian-in-runc.md says why each line is here).
set -eu
R="$1"

# Per-instance identity: no hostname, resolver, ssh host keys or machine id copied from the build host.
rm -f "$R/etc/hostname"
: > "$R/etc/resolv.conf"
rm -f "$R"/etc/ssh/ssh_host_*
: > "$R/etc/machine-id"

# sshd starts even where cloud-init did not run (cloud-init makes new host keys per instance when it does).
mkdir -p "$R/etc/systemd/system/ssh.service.d"
cat > "$R/etc/systemd/system/ssh.service.d/kiln-hostkeys.conf" <<'EOT'
[Service]
ExecStartPre=/usr/bin/ssh-keygen -A
EOT

# cloud-init: the EC2 datasource, against Kiln's metadata service.
cat > "$R/etc/cloud/cloud.cfg.d/90-kiln.cfg" <<'EOT'
# Kiln: an instance's metadata comes from Kiln's EC2-style metadata service at 169.254.169.254.
# cloud-init cannot detect EC2 inside a container, so the datasource is named here.
datasource_list: [ Ec2 ]
datasource:
  Ec2:
    metadata_urls: [ 'http://169.254.169.254' ]
    max_wait: 10
    timeout: 2
    # not on AWS: no 'EC2 metadata on an unknown platform' warning
    strict_id: false
# Kiln sets up the instance's network (address, route) from the host before it boots.
network: {config: disabled}
# en_US.UTF-8 is not generated in this image; Debian's default would make cc_locale fail.
locale: C.UTF-8
# Kiln sets the hostname (ip-172-31-...) as the instance starts; inside, nobody may change it.
preserve_hostname: true
manage_etc_hosts: true
# Debian's cloud images' user, as on Debian's AMIs.
system_info:
  default_user:
    name: admin
EOT
