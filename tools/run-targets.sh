#!/usr/bin/env bash
# `make test`: runs every make target it is given, in order, whatever the earlier ones did, then
# prints one line per target (result, minutes) and exits 1 when any failed.
set -uo pipefail
make=${MAKE:-make}
summary=() failed=()
for t in "$@"; do
  echo "=== $t"
  start=$(date +%s)
  if "$make" --no-print-directory "$t"; then result=ok; else result=FAILED; failed+=("$t"); fi
  minutes=$(awk -v s=$(( $(date +%s) - start )) 'BEGIN { printf "%.1f", s / 60 }')
  summary+=("$(printf '%-7s %-18s %5s min' "$result" "$t" "$minutes")")
done
echo "=== summary"
printf '  %s\n' "${summary[@]}"
if ((${#failed[@]})); then echo "make test: FAILED: ${failed[*]}"; exit 1; fi
echo "make test: all ${#summary[@]} targets passed"
