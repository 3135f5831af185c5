#!/usr/bin/env bash
# Continuous batching against one request at a time, same machine, same run: a server with MaxBatch 1 and one with
# MaxBatch 8 (demo-large and demo-small), wrk at 1, 4 and 16 connections, 32 tokens per request (greedy).
# Usage: bench/load/batching.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-20}
source bench/load/lib.sh

for batch in 1 8; do
  start "batch-$batch" $((8300 + batch)) --ModelMeter:Devices:cpu:HourlyUsd=0.17 \
    --ModelMeter:Models:demo-large:Path="$PWD/src/ModelMeter.Server/models/demo-large" --ModelMeter:Models:demo-large:Device=cpu \
    --ModelMeter:Models:demo-large:MaxBatch=$batch --ModelMeter:Models:demo-large:MaxQueue=1000 \
    --ModelMeter:Models:demo-small:Path="$PWD/src/ModelMeter.Server/models/demo-small" --ModelMeter:Models:demo-small:Device=cpu \
    --ModelMeter:Models:demo-small:MaxBatch=$batch --ModelMeter:Models:demo-small:MaxQueue=1000
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
