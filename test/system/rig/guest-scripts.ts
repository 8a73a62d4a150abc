// The guest's boot scripts, as text the rig writes into the initramfs and the root disk.
// Kept in one place so their digest keys the cached images: edit a script, get a new image.

/** Name of the virtio-serial port that carries the control channel. */
export const CONTROL_PORT_NAME = 'org.twinslot.rig.0';
/** Address inside the VM's user network that guestfwd forwards to the host's loopback. */
export const HOST_ALIAS = '10.0.2.100';

// A disk by the serial number the rig gave it (-device virtio-blk-pci,serial=...): device
// order is then irrelevant.
const FIND_DISK = `disk() {
  for d in /sys/block/vd*; do
    [ "$(cat "$d/serial" 2>/dev/null)" = "$1" ] && { echo "/dev/\${d##*/}"; return 0; }
  done
  return 1
}`;

const ENV = 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root';

/** initramfs /init: modules, then the root disk, then busybox init from the root disk. */
export const INITRAMFS_INIT = `#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /newroot
/bin/busybox mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
echo "twinslot-rig: initramfs at $(cut -d' ' -f1 /proc/uptime)s"
while read -r m; do insmod "/lib/modules/$m" || echo "twinslot-rig: insmod $m failed"; done </modules.order
${FIND_DISK}
i=0
until root=$(disk root); do
  i=$((i + 1)); [ "$i" -gt 200 ] && { echo "twinslot-rig: FATAL no root disk"; poweroff -f; }
  sleep 0.05
done
mount -t ext4 "$root" /newroot || { echo "twinslot-rig: FATAL cannot mount $root"; poweroff -f; }
echo "twinslot-rig: modules loaded, root $root at $(cut -d' ' -f1 /proc/uptime)s"
mount --move /dev /newroot/dev
umount /proc /sys
exec switch_root /newroot /sbin/init
`;

/** busybox init's table on the root disk. */
export const INITTAB = `::sysinit:/etc/rig/rcS
::respawn:/etc/rig/ctl-agent
::once:/etc/rig/boot-payload
::ctrlaltdel:/sbin/reboot
::shutdown:/bin/sync
`;

/** Mounts, the data disk over /etc/twinslot and /var/lib/twinslot, network, boot marker. */
export const RCS = `#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts && mount -t tmpfs tmpfs /dev/shm
hostname twinslot-vm
${FIND_DISK}
if data=$(disk data); then
  mount -t ext4 "$data" /data || echo "twinslot-rig: cannot mount data disk $data"
  mkdir -p /data/etc/twinslot /data/var/lib/twinslot
  mount --bind /data/etc/twinslot /etc/twinslot
  mount --bind /data/var/lib/twinslot /var/lib/twinslot
fi
if payload=$(disk payload); then mount -t ext4 -o ro,noload "$payload" /payload; fi
ip link set lo up
ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && ip route add default via 10.0.2.2
echo "${HOST_ALIAS} host.rig" >>/etc/hosts
# Host loopback ports mirrored on the guest's loopback (TestVmOptions.loopback): a persistent
# busybox nc server per port, each connection relayed to the guestfwd address of the same port.
if [ -f /data/rig/loopback ]; then
  for port in $(cat /data/rig/loopback); do
    nc -ll -p "$port" -e nc ${HOST_ALIAS} "$port" </dev/null >/dev/null 2>&1 &
  done
fi
echo "twinslot-rig: booted boot_id=$(cat /proc/sys/kernel/random/boot_id) watchdog_bootstatus=$(cat /sys/class/watchdog/watchdog0/bootstatus 2>/dev/null || echo none) uptime=$(cut -d' ' -f1 /proc/uptime)s"
`;

/** Runs the test's boot scripts (payload disk, data disk, root disk), if any, once per boot. */
export const BOOT_PAYLOAD = `#!/bin/sh
${ENV}
for f in /payload/boot.sh /data/rig/boot.sh /etc/rig/boot.sh; do
  [ -f "$f" ] && { echo "twinslot-rig: running $f"; sh "$f" </dev/null >/dev/console 2>&1 & }
done
wait
`;

// The guest half of the control channel. One command at a time: the host sends
// "<id> <base64 script>", the guest answers "done <id> <exit code> <base64 stdout> <base64
// stderr>" ('-' for empty). "hello <boot_id> <watchdog bootstatus>" starts every session, so
// the host learns of each boot (and of a respawned agent) before it sends anything.
/** The control agent, respawned by init. */
export const CTL_AGENT = `#!/bin/sh
${ENV}
port=
for p in /sys/class/virtio-ports/*; do
  [ "$(cat "$p/name" 2>/dev/null)" = "${CONTROL_PORT_NAME}" ] && port="/dev/\${p##*/}"
done
[ -n "$port" ] || { echo "twinslot-rig: no control port"; sleep 5; exit 1; }
exec 3<>"$port"
enc() { s=$(base64 -w0 <"$1"); echo "\${s:--}"; }
printf 'hello %s %s\\n' "$(cat /proc/sys/kernel/random/boot_id)" "$(cat /sys/class/watchdog/watchdog0/bootstatus 2>/dev/null || echo -)" >&3
while read -r id script <&3; do
  echo "$script" | base64 -d >/run/rig-cmd.sh
  sh /run/rig-cmd.sh </dev/null >/run/rig-cmd.out 2>/run/rig-cmd.err 3>&-
  rc=$?
  printf 'done %s %s %s %s\\n' "$id" "$rc" "$(enc /run/rig-cmd.out)" "$(enc /run/rig-cmd.err)" >&3
done
echo "twinslot-rig: control channel closed"
`;
