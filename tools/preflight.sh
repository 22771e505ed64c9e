#!/usr/bin/env bash
# `make preflight` (first in `make test`, and before `make lab`): checks in seconds that this
# machine has what the container suites and the lab need, and says how to fix what is missing.
# Exit 0 when every check passes, 1 otherwise; it leaves nothing behind.
set -uo pipefail
IMAGE=${IMAGE:-localhost/shoplab-debian-systemd:bookworm}
ID=shoplab-preflight-$$
failed=0

ok() { printf '  ok    %s\n' "$1"; }
bad() { printf '  FAIL  %s\n        fix: %s\n' "$1" "$2"; failed=1; }
cleanup() {
  podman rm -f -t 0 "$ID-peer" >/dev/null 2>&1
  podman network rm -f "$ID" >/dev/null 2>&1
}
trap cleanup EXIT

echo "preflight: what the container suites and the lab need"
if ! command -v podman >/dev/null; then
  bad "podman is not installed" "make deps"
  exit 1
fi
info=$(podman info --format '{{.Host.OCIRuntime.Name}} {{.Host.NetworkBackend}}' 2>&1) \
  || { bad "podman info fails: $info" "make deps (it writes /etc/containers/containers.conf)"; exit 1; }
read -r runtime backend <<<"$info"
[ "$runtime" = runc ] && ok "OCI runtime runc" \
  || bad "OCI runtime is '$runtime' (crun cannot run on this cgroup-v1 host)" \
         "make deps (runtime = \"runc\" in /etc/containers/containers.conf)"
[ "$backend" = netavark ] && ok "network backend netavark" \
  || bad "network backend is '$backend': containers on a named network cannot resolve each other" \
         "make deps (installs netavark aardvark-dns, sets network_backend = \"netavark\")"
[ -x /usr/lib/podman/aardvark-dns ] && ok "aardvark-dns (name resolution on podman networks)" \
  || bad "aardvark-dns is not installed" "make deps (apt-get install netavark aardvark-dns)"

if ! podman image exists "$IMAGE"; then
  bad "image $IMAGE is missing" "make image"
  exit 1
fi
ok "image $IMAGE"

# a container starts (the ulimits in containers.conf are ones root may set here)
out=$(podman run --rm --network none "$IMAGE" true 2>&1) \
  && ok "a container starts (runc, ulimits)" \
  || bad "a container does not start: ${out##*$'\n'}" \
         "make deps (default_ulimits at most the hard limits: nofile $(ulimit -Hn), nproc 32768)"

# one container resolves another by its network alias, as every multi-host suite needs
if out=$(podman network create --label shoplab.preflight=1 "$ID" 2>&1) &&
   out=$(podman run -d --name "$ID-peer" --network "$ID" --network-alias peer "$IMAGE" sleep 30 2>&1) &&
   out=$(podman run --rm --network "$ID" "$IMAGE" getent hosts peer 2>&1); then
  ok "name resolution on a podman network (peer -> ${out%% *})"
else
  out=${out##*$'\n'}
  bad "no name resolution between containers on a podman network: ${out:-'peer' did not resolve}" \
      "make deps (netavark + aardvark-dns; it removes the networks made under the old backend)"
fi

if ((failed)); then echo "preflight: FAILED (see the fixes above)"; exit 1; fi
echo "preflight: ok"
