#!/usr/bin/env bash
# `make lab STAGE=N`: start the stage's hosts as systemd containers on their own podman
# network, configure them with ansible/site.yml, seed the catalogue, publish nginx's HTTPS on
# 127.0.0.1:844N (its HTTP, a redirect to it, on 808N; Prometheus on 909N: edge/lab.py) and buy a
# product through it, trusting only the lab CA (ansible/lab-ca.yml, created here on first use).
# Re-runnable: existing containers are reused, unless their size changed (then they are recreated).
# Each host is limited like the instance it stands for (capacity/lab_sizes.py): LAB_PROFILE
# (reference | stack), LAB_CREDITS (burst | exhausted), LAB_CORES_PER_VCPU. LAB_ARM (shoplab |
# reference_shaped, capacity/arms.py) is the configuration deployed on them.
set -euo pipefail
cd "$(dirname "$0")/../.."
STAGE=${STAGE:-1}
# LAB_INVENTORY: another inventory of the same stage (e.g. lab-stage2-one-app-host)
INVENTORY=${LAB_INVENTORY:-ansible/inventories/lab-stage$STAGE}
# a stage with its own playbook (ansible/stage4.yml) uses it; stages 1 and 2 use site.yml
PLAYBOOK=ansible/stage$STAGE.yml; [ -f "$PLAYBOOK" ] || PLAYBOOK=ansible/site.yml
IMAGE=${IMAGE:-localhost/shoplab-debian-systemd:bookworm}
NET=shoplab-s$STAGE
read -r PORT HTTPS_PORT PROM_PORT URL CA < <(python3 -m edge.lab "$STAGE")   # PROM_PORT: loadtest/capacity.py
LABEL=shoplab.lab=stage$STAGE
SEED_PRODUCTS=${SEED_PRODUCTS:-50}
# the load test's own catalogue: its shopper journey buys these, never the reference's products
SEED_LOADTEST_PRODUCTS=${SEED_LOADTEST_PRODUCTS:-20}
LAB_PROFILE=${LAB_PROFILE:-reference}
LAB_CREDITS=${LAB_CREDITS:-burst}
LAB_ARM=${LAB_ARM:-shoplab}
STATE=.state/lab/stage$STAGE
[ -d "$INVENTORY" ] || { echo "no inventory $INVENTORY (stages: 1, 2)"; exit 2; }

# The deploy is not what the lab measures: the sized hosts' CPU quota is lifted while Ansible
# installs packages (apt at an eighth of a core takes many minutes) and put back before the
# seed and the smoke test, so the shop is only ever served at its instance's size. The quota
# is the container's own (podman's HostConfig), written to its cgroup v1 file.
cpu_quota() {   # <container> lift|restore
  local id q
  id=$(podman inspect -f '{{.Id}}' "$1")
  q=$(podman inspect -f '{{.HostConfig.CpuQuota}}' "$1")
  [ "$2" = lift ] && q=-1
  [ "${q:-0}" != 0 ] || return 0    # never limited
  echo "$q" > "/sys/fs/cgroup/cpu/libpod_parent/libpod-$id/cpu.cfs_quota_us"
}

t0=$(date +%s)
ansible-playbook ansible/lab-ca.yml >/dev/null   # $CA and the edge's certificate; kept while valid
podman network exists "$NET" || podman network create --label "$LABEL" "$NET" >/dev/null
mkdir -p "$STATE"
# <name> <container> <groups> <size label> <podman flags...> per host, and the same sizes plus
# the arm's settings as extra vars for the playbook (the stage-3 app containers read them)
mapfile -t HOSTS < <(python3 -m capacity.lab_sizes "$INVENTORY" --profile "$LAB_PROFILE" \
  --credits "$LAB_CREDITS" --json "$STATE/sizes.json")
[ ${#HOSTS[@]} -gt 0 ] || { echo "no lab hosts from $INVENTORY"; exit 1; }
python3 -m capacity.arms "$LAB_ARM" "$STAGE" > "$STATE/arm.json"
# stage 3: hosts of group app_image are containers of the shop's image (no systemd, as on
# Fargate) that the playbook starts itself; they join HOSTS again after the deploy
mapfile -t IMAGE_HOSTS < <(printf '%s\n' "${HOSTS[@]}" | awk '$3 ~ /(^|,)app_image(,|$)/')
mapfile -t HOSTS < <(printf '%s\n' "${HOSTS[@]}" | awk '$3 !~ /(^|,)app_image(,|$)/')
# a sized host of this stage that the inventory no longer has (lab-stage2 after
# lab-stage2-one-app-host, or the reverse) would take its share of the CPUs: removed
mapfile -t KEEP < <(printf '%s\n' "${HOSTS[@]}" "${IMAGE_HOSTS[@]}" | awk 'NF {print $2}')
for ctr in $(podman ps -a --filter "label=$LABEL" --filter label=shoplab.size --format '{{.Names}}'); do
  [[ " ${KEEP[*]} " == *" $ctr "* ]] || { echo "$ctr: not in $INVENTORY: removing it"; podman rm -f -t 2 "$ctr" >/dev/null; }
done
# the public edge: the ALB's stand-in (group alb) where the inventory has one, else nginx (lb)
EDGE=lb; printf '%s\n' "${HOSTS[@]}" | awk '$3 ~ /(^|,)alb(,|$)/ {a = 1} END {exit !a}' && EDGE=alb
for line in "${HOSTS[@]}"; do
  read -r name ctr groups size flags <<<"$line"
  publish=()
  [[ ,$groups, == *,$EDGE,* ]] && publish=(-p "127.0.0.1:$PORT:80" -p "127.0.0.1:$HTTPS_PORT:443")
  [[ ,$groups, == *,monitoring,* ]] && publish=(-p "127.0.0.1:$PROM_PORT:9090")
  if podman container exists "$ctr" &&
     [ "$(podman inspect -f '{{index .Config.Labels "shoplab.size"}}' "$ctr")" != "$size" ]; then
    echo "$ctr: size changed to $size: recreating it"
    podman rm -f -t 2 "$ctr" >/dev/null
  fi
  if podman container exists "$ctr"; then
    podman start "$ctr" >/dev/null
  else
    # shellcheck disable=SC2086  # $flags: one podman flag per word
    podman run -d --name "$ctr" --hostname "$name" --network "$NET" --network-alias "$name" \
      --systemd=always --label "$LABEL" --label "shoplab.size=$size" $flags "${publish[@]}" \
      "$IMAGE" /sbin/init >/dev/null
  fi
done
for line in "${HOSTS[@]}"; do   # systemd up in every host (bounded: 60 s each)
  read -r name ctr _ <<<"$line"
  for _ in $(seq 60); do
    st=$(podman exec "$ctr" systemctl is-system-running 2>/dev/null || true)
    [[ $st == running || $st == degraded ]] && break; sleep 1
  done
  [[ $st == running || $st == degraded ]] || { echo "$ctr: systemd is '$st'"; exit 1; }
done
all_quotas() { for line in "${HOSTS[@]}"; do read -r _ ctr _ <<<"$line"; cpu_quota "$ctr" "$1"; done; }
all_quotas lift
trap 'all_quotas restore' EXIT   # a failed deploy leaves no host unlimited
t1=$(date +%s)
echo "=== stage $STAGE: ${#HOSTS[@]} host(s) up in $((t1 - t0))s (profile $LAB_PROFILE, credits $LAB_CREDITS); running $PLAYBOOK (arm $LAB_ARM)"
# LAB_SKIP_TAGS: an arm that must get past a check on purpose (capacity/arms.py DEPLOY_SKIP_TAGS)
skip=(); [ -z "${LAB_SKIP_TAGS:-}" ] || { skip=(--skip-tags "$LAB_SKIP_TAGS"); echo "=== skipping: $LAB_SKIP_TAGS"; }
# --flush-cache: the fact cache (ansible.cfg) would give a recreated container its predecessor's
# facts (default_ipv4: the address its exporters bind to and Prometheus scrapes)
ansible-playbook "$PLAYBOOK" -i "$INVENTORY" -e "@$STATE/sizes.json" -e "@$STATE/arm.json" \
  --flush-cache "${skip[@]}"
t2=$(date +%s)
# the load-test report quotes the deploy time (mk/loadtest.mk reads this file)
echo "$((t2 - t1))" > "$STATE/deploy-seconds"
all_quotas restore

HOSTS+=("${IMAGE_HOSTS[@]}")

# seed from the first app host (idempotent): on hosts as the schema's owner (migrate.env), in
# stage 3's container as the app's role (rows only, enough to add products)
app_ctr=$(printf '%s\n' "${HOSTS[@]}" | awk '$3 ~ /(^|,)app(,|$)/ {print $2; exit}')
if [ -z "$app_ctr" ]; then
  echo "=== stage $STAGE deployed with $PLAYBOOK in $((t2 - t1))s (no app host: no seed, no smoke test)"
  exit 0
fi
if [[ " ${IMAGE_HOSTS[*]} " == *" $app_ctr "* ]]; then   # stage 3: the env is the container's
  podman exec "$app_ctr" python -m sql.seed --products "$SEED_PRODUCTS" \
    --loadtest-products "$SEED_LOADTEST_PRODUCTS"
else
podman exec "$app_ctr" bash -c "set -a; . /etc/shoplab/shop.env;
  [ ! -e /etc/shoplab/migrate.env ] || . /etc/shoplab/migrate.env; set +a;
  /opt/shoplab/venv/bin/python -m sql.seed --products $SEED_PRODUCTS \
    --loadtest-products $SEED_LOADTEST_PRODUCTS"
fi

echo "=== smoke test through the edge at $URL (and its redirect from http://127.0.0.1:$PORT; Prometheus)"
prom=(); printf '%s\n' "${HOSTS[@]}" | awk '$3 ~ /(^|,)monitoring(,|$)/ {m = 1} END {exit !m}' &&
  prom=(--prometheus "http://127.0.0.1:$PROM_PORT")
python3 tools/lab/smoke.py "$URL" --cafile "$CA" --redirect-from "http://127.0.0.1:$PORT" \
  --min-products "$SEED_PRODUCTS" --spread 20 "${prom[@]}"
cat <<MSG
=== lab stage $STAGE ready: $URL (clients trust $CA)
    deploy ($PLAYBOOK): $((t2 - t1))s, total with containers, seed and smoke test: $(( $(date +%s) - t0 ))s
    hosts: $(printf '%s\n' "${HOSTS[@]}" | awk '{printf "%s(%s) ", $1, $3}')
    stop and remove: make lab-down STAGE=$STAGE
MSG
