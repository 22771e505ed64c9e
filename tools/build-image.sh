#!/usr/bin/env bash
# Builds the systemd Debian bookworm image that molecule and the lab run their "hosts" in,
# from the apt mirror this machine uses (no registry is reachable). About 2 minutes; skipped
# when the image exists. Recipe and pitfalls: shared/reference/molecule-offline.md.
set -euo pipefail
IMAGE=${IMAGE:-localhost/shoplab-debian-systemd:bookworm}
if podman image exists "$IMAGE" && [ -z "${REBUILD:-}" ]; then
  echo "image $IMAGE exists"; exit 0
fi
MIRROR=${MIRROR:-$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/*.sources)}
R=$(mktemp -d /var/tmp/shoplab-rootfs.XXXX)
trap 'rm -rf "$R"' EXIT
debootstrap --variant=minbase \
  --include=systemd,systemd-sysv,dbus,python3,python3-apt,sudo,ca-certificates,iproute2,procps,curl,gnupg,locales \
  bookworm "$R" "$MIRROR" >/var/tmp/shoplab-debootstrap.log 2>&1 \
  || { tail -20 /var/tmp/shoplab-debootstrap.log; exit 1; }
cp /etc/apt/sources.list.d/*.sources "$R/etc/apt/sources.list.d/"; : > "$R/etc/apt/sources.list"
if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then   # the egress proxy's CA
  cp /usr/local/share/ca-certificates/*.crt "$R/usr/local/share/ca-certificates/"
  chroot "$R" update-ca-certificates >/dev/null
fi
# pip inside the hosts trusts the system CA store (which now holds the proxy's CA)
printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' > "$R/etc/pip.conf"
chroot "$R" apt-get clean
rm -rf "$R"/var/lib/apt/lists/*
touch -d 2000-01-01 "$R/var/lib/apt/lists"   # so apt's cache_valid_time never trusts an empty cache
for u in systemd-remount-fs.service getty.target console-getty.service systemd-logind.service \
         sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount dev-hugepages.mount \
         systemd-udevd.service systemd-udev-trigger.service systemd-firstboot.service; do
  ln -sf /dev/null "$R/etc/systemd/system/$u"
done
: > "$R/etc/machine-id"
tar -C "$R" -c . | podman import \
  --change 'CMD=["/sbin/init"]' --change 'ENV=container=podman' --change 'STOPSIGNAL=SIGRTMIN+3' \
  - "$IMAGE" >/dev/null
podman image prune -f >/dev/null
cid=$(podman run -d --systemd=always "$IMAGE" /sbin/init)
st=unknown
for _ in $(seq 30); do
  st=$(podman exec "$cid" systemctl is-system-running 2>/dev/null || true)
  [ "$st" = running ] && break; sleep 1
done
podman rm -f "$cid" >/dev/null
[ "$st" = running ] || { podman rmi -f "$IMAGE" >/dev/null; echo "image $IMAGE: systemd did not reach running ($st)"; exit 1; }
echo "image $IMAGE built"
