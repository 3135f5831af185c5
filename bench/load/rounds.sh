#!/usr/bin/env bash
# Servers with different batching settings side by side, measured in alternating rounds (this VM's speed drifts, so only
# figures of one run compare): first the greedy texts of 16 concurrent requests to each, against the first server's, then
# wrk with bench/load/mixed.lua (demo-large, 32 tokens, prompts of 4-96 tokens; LENGTHS as mixed.lua says) at the given clients, one line per case,
# and each setting's total over the rounds.
# Usage: bench/load/rounds.sh [seconds] [clients] [rounds] [MaxBatch[:JoinWindowMs[:IntraOpThreads]]...]   (default: 30 16 3 1 16, the
# default against one request at a time)
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-30} clients=${2:-16} rounds=${3:-3}
shift 3 || shift $#
specs=("${@:-1 16}")
read -r -a specs <<<"${specs[*]}"
source bench/load/lib.sh
models="$PWD/src/ModelMeter.Server/models"
ports=()
for i in "${!specs[@]}"; do
  spec=${specs[$i]} port=$((8520 + i))
  settings=(--ModelMeter:Models:demo-large:MaxBatch="${spec%%:*}")
  IFS=: read -r _ window threads <<<"$spec"
  [[ -n $window ]] && settings+=(--ModelMeter:Models:demo-large:JoinWindowMs="$window")
  [[ -n $threads ]] && settings+=(--ModelMeter:Models:demo-large:IntraOpThreads="$threads")
  start "rounds-$i" $port --ModelMeter:Devices:cpu:HourlyUsd=0.17 --ModelMeter:Models:demo-large:Path="$models/demo-large" \
    --ModelMeter:Models:demo-large:Device=cpu --ModelMeter:Models:demo-large:MaxQueue=1000 "${settings[@]}"
  ports+=($port)
done

/usr/bin/python3 - "${ports[@]}" <<'PY'
import json, sys, urllib.request
from concurrent.futures import ThreadPoolExecutor
ports = sys.argv[1:]
prompts = [f"Request {i}: who spent the money on the {w} this month?" + " money" * (4 * (i % 4) ** 2) for i, w in
           enumerate(["gpu", "cluster", "cache", "tokens", "budget", "invoice", "model", "server",
                      "batch", "prompt", "tenant", "ledger", "device", "energy", "carbon", "bill"])]
def ask(port, prompt):
    body = json.dumps({"prompt": prompt, "max_tokens": 32, "temperature": 0}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/generate/demo-large", body, {"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(request, timeout=300))["text"]
texts = {}
for port in ports:
    with ThreadPoolExecutor(len(prompts)) as pool:
        texts[port] = list(pool.map(lambda p: ask(port, p), prompts))
for port in ports[1:]:
    same = sum(a == b for a, b in zip(texts[ports[0]], texts[port]))
    print(f"greedy texts, 16 at once: port {port} {same}/{len(prompts)} identical to port {ports[0]}")
PY

declare -A total
for round in $(seq 1 "$rounds"); do
  for i in "${!specs[@]}"; do
    url="http://127.0.0.1:${ports[$i]}/v1/generate/demo-large"
    wrk -t1 -c"$clients" -d2s --timeout 60s -s bench/load/mixed.lua "$url" >/dev/null # warm-up
    line=$(wrk -t1 -c"$clients" -d"${seconds}s" --timeout 60s -s bench/load/mixed.lua "$url" | tail -1)
    printf 'round %s  MaxBatch[:JoinWindowMs[:IntraOpThreads]] %-8s %2s clients  %s\n' "$round" "${specs[$i]}" "$clients" "$line"
    tokens=$(sed -E 's/.*tokens\/s=([0-9.]+).*/\1/' <<<"$line")
    total[$i]=$(awk -v a="${total[$i]:-0}" -v b="$tokens" 'BEGIN { print a + b }')
  done
done
for i in "${!specs[@]}"; do
  awk -v s="${specs[$i]}" -v t="${total[$i]}" -v f="${total[0]}" -v r="$rounds" \
    'BEGIN { printf "MaxBatch[:JoinWindowMs[:IntraOpThreads]] %-8s mean %.1f tokens/s, %.2fx the first\n", s, t / r, t / f }'
done
