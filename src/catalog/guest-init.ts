/**
 * Kiln's guest init: /sbin/init of the minimal image, a busybox sh script that
 * runs as PID 1 and behaves like a tiny cloud-init with a config-drive
 * datasource at /run/kiln (files instance-id, user-data, instance-type,
 * ami-id, region, availability-zone, local-hostname, openssh-key, ...).
 *
 * What it does on every boot, printing on the console one line per step it
 * really takes, worded as what it is (Kiln's init in a container: no kernel
 * boots, no getty runs), each line starting "kiln-init:":
 *   - the hostname and instance id it found;
 *   - brings `lo` up (usually already done by the runtime; harmless if so);
 *   - once per instance id (cloud-init semantics, marker
 *     /var/lib/cloud/instances/<id>/sem/config_scripts_user): copies user-data
 *     to /var/lib/cloud/instances/<id>/user-data.txt and, when it starts with
 *     `#!`, runs it as root with its output on the console and appended to
 *     /var/log/cloud-init-output.log. `#cloud-config` and other formats are
 *     reported as unsupported. An image captured from this instance and
 *     launched as a new instance runs the new instance's user data; a reboot
 *     or stop/start of the same instance does not re-run it;
 *   - once per instance, the launch key pair's public key (openssh-key) added
 *     to /root/.ssh/authorized_keys;
 *   - on every boot, an executable /etc/rc.local after the user data;
 *   - /var/lib/cloud/instance -> instances/<id>, boot-finished, data/instance-id;
 *   - "kiln-init: boot finished after N s" (the runtime and tests wait for it);
 * then it waits, and on SIGTERM (runtime stop; also busybox reboot) or
 * SIGUSR1/SIGUSR2 (busybox halt/poweroff) it syncs and exits 0 at once, which
 * the runtime reports as a shutdown from inside.
 *
 * (The script is a String.raw template: it must contain no backtick and no
 * dollar-brace, which would be interpolated; use $(...) and plain $VAR.)
 */
export const GUEST_INIT = String.raw`#!/bin/sh
# Kiln guest init: PID 1 of the Kiln minimal image (a tiny cloud-init; source: src/catalog/guest-init.ts).
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root
DS=/run/kiln
CLOUD=/var/lib/cloud
OUTLOG=/var/log/cloud-init-output.log

power_off() {
  echo "kiln-init: received $1: syncing the root filesystem and exiting (the instance stops)"
  # Only the root filesystem: a plain sync would flush every filesystem of the host.
  sync -f / 2>/dev/null || sync
  exit 0
}
# Installed first: PID 1 ignores signals it has no handler for.
trap 'power_off SIGTERM' TERM
trap 'power_off SIGINT' INT
trap 'power_off SIGUSR1' USR1
trap 'power_off SIGUSR2' USR2

T0=$(cut -d' ' -f1 /proc/uptime)
up() { awk -v t0="$T0" '{ printf "%.2f", $1 - t0 }' /proc/uptime; }
say() { echo "$*"; echo "$*" >>"$OUTLOG"; }
md() { [ -r "$DS/$1" ] && head -n 1 "$DS/$1" | tr -d '\r\n'; }

HOST=$(hostname)
IID=$(md instance-id | tr -c 'A-Za-z0-9._-' '_')
[ -n "$IID" ] || IID=iid-datasource-none
say "kiln-init: Kiln minimal image init (busybox sh as PID 1), hostname $HOST, instance $IID"
mkdir -p /var/log "$CLOUD/data"
[ "$(cat /etc/hostname 2>/dev/null)" = "$HOST" ] || echo "$HOST" >/etc/hostname
ip link set lo up 2>/dev/null || ifconfig lo up 2>/dev/null
LO=$(ip -o -4 addr show dev lo 2>/dev/null | awk '{ print $4 }')
[ -n "$LO" ] || LO=no-address
say "kiln-init: lo $LO; metadata from $DS: instance-type $(md instance-type), ami $(md ami-id), zone $(md availability-zone)"

IDIR="$CLOUD/instances/$IID"
mkdir -p "$IDIR/sem" "$IDIR/scripts"
ln -sfn "$IDIR" "$CLOUD/instance"
PREV=$(cat "$CLOUD/data/instance-id" 2>/dev/null)
if [ "$PREV" != "$IID" ]; then
  [ -n "$PREV" ] && echo "$PREV" >"$CLOUD/data/previous-instance-id"
  echo "$IID" >"$CLOUD/data/instance-id"
fi
# The launch key pair's public key (cc_ssh): installed for root once per instance, as cloud-init does for the default user.
if [ ! -e "$IDIR/sem/config_ssh" ]; then
  if [ -s "$DS/openssh-key" ]; then
    mkdir -p /root/.ssh && chmod 700 /root/.ssh
    KEY=$(head -n 1 "$DS/openssh-key")
    grep -qxF "$KEY" /root/.ssh/authorized_keys 2>/dev/null || echo "$KEY" >>/root/.ssh/authorized_keys
    chmod 600 /root/.ssh/authorized_keys
    say "kiln-init: installed the launch key pair's public key for root: $(echo "$KEY" | awk '{ print $1, $3 }')"
  fi
  echo "$$: $(date +%s)" >"$IDIR/sem/config_ssh"
fi

run_user_script() {
  SCRIPT="$IDIR/scripts/part-001"
  cp "$IDIR/user-data.txt" "$SCRIPT" && chmod 700 "$SCRIPT"
  # Output goes through a fifo to a tee (console + log) and only the script is
  # waited for: daemons it leaves in the background keep the tee, not the boot.
  # In the background so that a stop (SIGTERM) is handled while it runs.
  FIFO=/run/kiln-user-data.fifo
  rm -f "$FIFO"; mkfifo "$FIFO"
  tee -a "$OUTLOG" <"$FIFO" &
  ( cd / && exec "$SCRIPT" ) >"$FIFO" 2>&1 </dev/null &
  wait $!
  RC=$?
  rm -f "$FIFO"
  say "kiln-init: user data script exited with status $RC"
}

if [ ! -e "$IDIR/sem/config_scripts_user" ]; then
  if [ -s "$DS/user-data" ]; then
    cp "$DS/user-data" "$IDIR/user-data.txt" && chmod 600 "$IDIR/user-data.txt"
    case "$(head -n 1 "$IDIR/user-data.txt" | tr -d '\r')" in
      '#!'*) say "kiln-init: running the user data script (once per instance)"; run_user_script ;;
      '#cloud-config'*) say "kiln-init: #cloud-config user data is not supported by the Kiln minimal image; ignored (use a #! script)" ;;
      *) say "kiln-init: unsupported user data format (the Kiln minimal image runs #! scripts only); ignored" ;;
    esac
  fi
  echo "$$: $(date +%s)" >"$IDIR/sem/config_scripts_user"
fi

# Like sysvinit's rc.local: an executable /etc/rc.local runs on every boot, after user data.
if [ -x /etc/rc.local ]; then
  say "kiln-init: running /etc/rc.local"
  ( cd / && exec /etc/rc.local ) </dev/null 2>&1 &
  wait $!
fi

echo "$(up) - $(date -R) - v. kiln" >"$IDIR/boot-finished"
say "kiln-init: boot finished after $(up) s (no login service in this image: it runs user data only)"

# PID 1 reaps orphans while it waits, and the wait is interrupted by the traps.
while :; do
  sleep 60 &
  wait $!
done
`;
