#!/usr/bin/env bash
# Installs what Shoplab needs on a fresh Debian 12 machine: Debian packages, then the
# project's virtualenv from the pinned constraints. Safe to run again (it skips what is there).
#   tools/install-deps.sh            everything
#   tools/install-deps.sh services   only the apt packages the tests and `make run` use
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}

services=(postgresql-15 postgresql-client-15 redis-server pgbouncer nginx-light curl)
containers=(podman runc debootstrap uidmap fuse-overlayfs slirp4netns unzip)
browser=(chromium chromium-driver)
bench=(wrk)
case "$what" in
  services) pkgs=("${services[@]}") ;;
  all) pkgs=("${services[@]}" "${containers[@]}" "${browser[@]}" "${bench[@]}") ;;
  *) echo "usage: $0 [all|services]" >&2; exit 2 ;;
esac

# node and npm (schema and accessibility checks) come with this machine image; Debian's
# packages stand in where they are absent.
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "apt: installing ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# Debian starts these on install; the project runs its own instances on other ports.
for s in postgresql redis-server pgbouncer nginx; do
  service "$s" stop >/dev/null 2>&1 || true
done

if [ "$what" = all ] && [ ! -f /etc/containers/containers.conf.shoplab ]; then
  # crun cannot run on this cgroup-v1 hybrid host, and podman's default rlimits exceed
  # what root may set here (see shared/reference/molecule-offline.md).
  mkdir -p /etc/containers
  cat > /etc/containers/containers.conf <<CONF
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=32768:32768"]
[engine]
runtime = "runc"
CONF
  touch /etc/containers/containers.conf.shoplab
fi

# The virtualenv: brought in line with the pins only when they changed since the last run.
[ -x .venv/bin/python ] || { python3 -m venv .venv && .venv/bin/pip install -q --upgrade pip; }
if ! cmp -s constraints.txt .venv/.constraints; then
  .venv/bin/pip install -q -c constraints.txt -e '.[test,ops,infra,loadtest]'
  cp constraints.txt .venv/.constraints
fi
