#!/usr/bin/env bash
# `make lab-down STAGE=N`: remove every container, volume and network `make lab` created for
# the stage (found by their label, so nothing else is touched).
set -euo pipefail
STAGE=${STAGE:-1}
LABEL=shoplab.lab=stage$STAGE
mapfile -t ctrs < <(podman ps -a --filter "label=$LABEL" --format '{{.Names}}')
((${#ctrs[@]})) && podman rm -f -t 2 "${ctrs[@]}" >/dev/null
mapfile -t vols < <(podman volume ls --filter "label=$LABEL" --format '{{.Name}}')
((${#vols[@]})) && podman volume rm -f "${vols[@]}" >/dev/null
mapfile -t nets < <(podman network ls --filter "label=$LABEL" --format '{{.Name}}')
((${#nets[@]})) && podman network rm -f "${nets[@]}" >/dev/null
echo "lab stage $STAGE removed: ${#ctrs[@]} container(s), ${#vols[@]} volume(s), ${#nets[@]} network(s)"
