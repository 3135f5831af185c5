#!/usr/bin/env bash
# Does the cost split follow work across models? One server, demo-large and demo-small batched on the device `cpu` at
# 3600 USD/h (1 USD per second, so a charge reads as device-seconds). demo-large answers one 64-token request alone
# (its solo work: the mean of the medians of three runs before and three after, as the VM's speed drifts), then the same request while 8 clients keep sending 32-token requests to demo-small (batched
# together). Prints, per round, the large request's wall time, its charge and its solo work, and the charge's share
# of the wall time against the solo work's share: the split follows work when the two are close.
# Usage: bench/load/split.sh [rounds] [extra server settings...]
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
shift || true
source bench/load/lib.sh
models="$PWD/src/ModelMeter.Server/models"
start split 8390 --ModelMeter:Devices:cpu:HourlyUsd=3600 \
  --ModelMeter:Models:demo-large:Path="$models/demo-large" --ModelMeter:Models:demo-large:Device=cpu \
  --ModelMeter:Models:demo-small:Path="$models/demo-small" --ModelMeter:Models:demo-small:Device=cpu \
  --ModelMeter:Models:demo-small:MaxQueue=1000 "$@"
url=http://127.0.0.1:8390
body='{"prompt": "Which model ate most of the bill this month, and why did nobody see it coming?", "max_tokens": 64, "temperature": 0}'
large() { # prints "wall charge tokens": the server's latency and charge of one demo-large request
  curl -s -H 'Content-Type: application/json' -d "$body" "$url/v1/generate/demo-large" \
    | python3 -c 'import json, sys; a = json.load(sys.stdin); print(a["latency_seconds"], a["estimated_cost_usd"], a["output_tokens"])'
}
for _ in 1 2 3; do large >/dev/null; done # warm-up
wrk -t1 -c8 -d2s --timeout 60s -s bench/load/batch.lua "$url/v1/generate/demo-small" >/dev/null
for round in $(seq 1 "$rounds"); do
  read -r before_wall _ solo_tokens < <(for _ in 1 2 3; do large; done | sort -n | sed -n 2p) # the median of three
  wrk -t1 -c8 -d30s --timeout 60s -s bench/load/batch.lua "$url/v1/generate/demo-small" >"$work/wrk" &
  load=$!
  sleep 2 # the small clients are batched and running
  read -r wall charge tokens < <(large)
  kill "$load" 2>/dev/null; wait "$load" 2>/dev/null || true
  read -r after_wall _ _ < <(for _ in 1 2 3; do large; done | sort -n | sed -n 2p) # and of three after: the VM's speed drifts
  solo_wall=$(awk -v a="$before_wall" -v b="$after_wall" 'BEGIN { print (a + b) / 2 }')
  solo_charge=$solo_wall # alone, a request is charged its wall time
  awk -v r="$round" -v sw="$solo_wall" -v sc="$solo_charge" -v w="$wall" -v c="$charge" -v t="$tokens" -v st="$solo_tokens" 'BEGIN {
    printf "round %d: alone %.3f s (charged %.3f, %d tokens); beside 8 small clients %.3f s, charged %.3f (%d tokens): charge %.0f%% of its wall time, solo work %.0f%%, %+.0f points\n",
      r, sw, sc, st, w, c, t, 100 * c / w, 100 * sc / w, 100 * (c - sc) / w }' | tee -a "$work/rounds"
done
awk '{ p = $(NF-1) + 0; d = p < 0 ? -p : p; sum += d; if (d > worst) worst = d }
  END { printf "over %d rounds: the charge is %.1f points from the solo work on average, %d at worst\n", NR, sum / NR, worst }' "$work/rounds"
