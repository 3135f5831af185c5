#!/usr/bin/env bash
# Continuous batching against one request at a time, same machine, same run: a server with MaxBatch 1 and one with
# MaxBatch 8 (demo-large and demo-small), wrk at 1, 4 and 16 connections, 32 tokens per request (greedy).
# Usage: bench/load/batching.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-20}
command -v wrk >/dev/null || apt-get -o DPkg::Lock::Timeout=300 install -y -q wrk
dotnet build src/ModelMeter.Server -c Release -nologo -v quiet >/dev/null
dll=src/ModelMeter.Server/bin/Release/net10.0/linux-x64/ModelMeter.Server.dll
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

for batch in 1 8; do
  port=$((8300 + batch))
  mkdir -p "$work/$batch"
  dotnet "$dll" --contentRoot="$work/$batch" --urls="http://127.0.0.1:$port" --Logging:LogLevel:Default=Warning \
    --ModelMeter:Ledger:Path="$work/$batch/ledger.db" --ModelMeter:Devices:cpu:HourlyUsd=0.17 \
    --ModelMeter:Models:demo-large:Path="$PWD/src/ModelMeter.Server/models/demo-large" --ModelMeter:Models:demo-large:Device=cpu \
    --ModelMeter:Models:demo-large:MaxBatch=$batch --ModelMeter:Models:demo-large:MaxQueue=1000 \
    --ModelMeter:Models:demo-small:Path="$PWD/src/ModelMeter.Server/models/demo-small" --ModelMeter:Models:demo-small:Device=cpu \
    --ModelMeter:Models:demo-small:MaxBatch=$batch --ModelMeter:Models:demo-small:MaxQueue=1000 >"$work/$batch.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
done

for model in demo-large demo-small; do
  for connections in 1 4 16; do
    for batch in 1 8; do
      port=$((8300 + batch))
      wrk -t1 -c"$connections" -d2s -s bench/load/batch.lua "http://127.0.0.1:$port/v1/generate/$model" >/dev/null # warm-up
      echo "== $model, MaxBatch $batch, $connections connection(s)"
      wrk -t1 -c"$connections" -d"${seconds}s" --timeout 60s --latency -s bench/load/batch.lua "http://127.0.0.1:$port/v1/generate/$model" \
        | grep -E "Requests/sec|^ +50%|^ +90%|^ +99%|Non-2xx"
    done
  done
done
