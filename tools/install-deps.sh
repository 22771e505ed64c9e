#!/usr/bin/env bash
# Installs what Shoplab needs on a fresh Debian 12 machine: Debian packages, then the
# project's virtualenv from the pinned constraints. Safe to run again (it skips what is there).
#   tools/install-deps.sh            everything
#   tools/install-deps.sh services   only the apt packages the tests and `make run` use
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}

# prometheus: the real server tests/loadtest/test_promql.py starts on a loopback port (and promtool)
services=(postgresql-15 postgresql-client-15 redis-server pgbouncer nginx-light curl prometheus)
# netavark + aardvark-dns: podman's network backend with name resolution between containers.
# Debian's podman only recommends them; without them (--no-install-recommends) it falls back to
# CNI, where containers on a named network cannot resolve each other's names.
containers=(podman runc netavark aardvark-dns iptables debootstrap uidmap fuse-overlayfs slirp4netns unzip)
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
for s in postgresql redis-server pgbouncer nginx prometheus; do
  service "$s" stop >/dev/null 2>&1 || true
done
# Prometheus is only ever the tests' own instance: not at boot either (it would hold port 9090)
if [ -d /run/systemd/system ]; then
  systemctl disable --quiet prometheus >/dev/null 2>&1 || true
else
  update-rc.d prometheus disable >/dev/null 2>&1 || true
fi

if [ "$what" = all ]; then
  # podman's settings for this machine (shared/reference/molecule-offline.md): runc, because
  # crun cannot run on this cgroup-v1 hybrid host; rlimits root may set here; netavark, whose
  # aardvark-dns gives containers on a named network each other's names. Compared by content,
  # so a machine set up by an older version of this script gets the change too.
  conf=$(cat <<CONF
# written by Shoplab's tools/install-deps.sh
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=32768:32768"]
[engine]
runtime = "runc"
[network]
network_backend = "netavark"
CONF
)
  if [ "$(cat /etc/containers/containers.conf 2>/dev/null)" != "$conf" ]; then
    # networks made under another backend are invisible to netavark, and containers joined to
    # them cannot start: remove this project's (the lab's hosts, molecule's and the tests'
    # networks) while the old backend still sees them; `make lab` and the tests make them again
    if command -v podman >/dev/null && [ "$(podman info --format '{{.Host.NetworkBackend}}' 2>/dev/null)" != netavark ]; then
      mapfile -t old < <(podman ps -aq --filter label=shoplab.lab 2>/dev/null)
      ((${#old[@]})) && podman rm -f -t 2 "${old[@]}" >/dev/null 2>&1
      mapfile -t old < <(podman network ls --format '{{.Name}}' 2>/dev/null | grep -E '^(shoplab-|mol-)')
      ((${#old[@]})) && podman network rm -f "${old[@]}" >/dev/null 2>&1
      rm -f /etc/cni/net.d/shoplab-*.conflist /etc/cni/net.d/mol-*.conflist
      echo "podman: lab hosts and project networks of the old network backend removed"
    fi
    mkdir -p /etc/containers
    printf '%s\n' "$conf" > /etc/containers/containers.conf
    rm -f /etc/containers/containers.conf.shoplab   # the marker older versions of this script left
    echo "podman: /etc/containers/containers.conf written (runc, ulimits, netavark)"
  fi
fi

# The virtualenv: brought in line with the pins only when they changed since the last run.
[ -x .venv/bin/python ] || { python3 -m venv .venv && .venv/bin/pip install -q --upgrade pip; }
if ! cmp -s constraints.txt .venv/.constraints; then
  .venv/bin/pip install -q -c constraints.txt -e '.[test,ops,infra,loadtest]'
  cp constraints.txt .venv/.constraints
fi
