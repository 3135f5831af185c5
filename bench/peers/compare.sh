#!/usr/bin/env bash
# ModelMeter against the classic FastAPI + PyTorch server (bench/peers/classic_server.py) on the same demo-large files,
# same machine, same run: greedy texts of 16 prompts compared, then wrk with bench/load/mixed.lua (32 tokens, prompts of
# 4-96 tokens) at 1 and 16 clients against ModelMeter at its defaults, ModelMeter with MaxBatch 1, and the classic server.
# Needs Debian's python3-torch, python3-fastapi and python3-uvicorn (installed here when missing).
# Usage: bench/peers/compare.sh [seconds per case]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-15}
/usr/bin/python3 -c 'import torch, fastapi, uvicorn' 2>/dev/null \
  || apt-get -o DPkg::Lock::Timeout=300 install -y -q python3-torch python3-fastapi python3-uvicorn >/dev/null
source bench/load/lib.sh
models="$PWD/src/ModelMeter.Server/models"
settings=(--ModelMeter:Devices:cpu:HourlyUsd=0.17 --ModelMeter:Models:demo-large:Path="$models/demo-large" --ModelMeter:Models:demo-large:Device=cpu)
start modelmeter 8510 "${settings[@]}"
start one-at-a-time 8511 "${settings[@]}" --ModelMeter:Models:demo-large:MaxBatch=1
mkdir -p "$work/peer" && ln -s "$models/demo-large" "$work/peer/demo-large"
/usr/bin/python3 bench/peers/classic_server.py "$work/peer" 8512 >"$work/classic.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 600); do curl -s -o /dev/null -X POST http://127.0.0.1:8512/v1/generate/none && break; sleep 0.2; done

/usr/bin/python3 - <<'PY'
import json, urllib.request
def ask(port, prompt):
    body = json.dumps({"prompt": prompt, "max_tokens": 24, "temperature": 0}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/generate/demo-large", body, {"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(request, timeout=120))["text"]
prompts = [f"Request {i}: who spent the money on the {word} this month?" for i, word in
           enumerate(["gpu", "cluster", "cache", "tokens", "budget", "invoice", "model", "server",
                      "batch", "prompt", "tenant", "ledger", "device", "energy", "carbon", "bill"])]
same = sum(ask(8510, p) == ask(8512, p) for p in prompts)
print(f"greedy texts: {same}/{len(prompts)} identical (ModelMeter and the classic server, 24 tokens each)")
PY

for connections in 1 16; do
  for target in "8510 ModelMeter (defaults)" "8511 ModelMeter MaxBatch 1" "8512 classic FastAPI+PyTorch"; do
    read -r port name <<<"$target"
    # Warm-up with one client: requests a client abandons stay queued in the classic server and would eat the next run.
    wrk -t1 -c1 -d2s --timeout 120s -s bench/load/mixed.lua "http://127.0.0.1:$port/v1/generate/demo-large" >/dev/null
    sleep 3
    duration=$seconds
    [[ $port == 8512 ]] && duration=$((seconds * 4)) # about 2 s a request there: enough of them to count
    printf '%-30s %2s clients  ' "$name" "$connections"
    wrk -t1 -c"$connections" -d"${duration}s" --timeout 120s -s bench/load/mixed.lua "http://127.0.0.1:$port/v1/generate/demo-large" | tail -1
  done
done
