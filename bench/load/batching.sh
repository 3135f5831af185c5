#!/usr/bin/env bash
# Continuous batching against one request at a time, same machine, same run: servers with the given MaxBatch values, 1, 8 and 16 by default (each
# serving demo-large and demo-small), wrk at 1, 4, 16 and 32 connections, 32 greedy tokens per request. Prints one line
# per case: req/s, tokens/s and p50/p95/p99 latency in seconds.
# Usage: [SCRIPT=bench/load/mixed.lua] [MODELS="demo-large"] bench/load/batching.sh [seconds per case] [batch sizes...]
# (SCRIPT: batch.lua, one prompt, by default; mixed.lua rotates prompts of about 4, 16, 48 and 96 tokens.)
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-10}
shift || true
batches=("${@:-1 8 16}")
read -r -a batches <<<"${batches[*]}"
source bench/load/lib.sh

for batch in "${batches[@]}"; do
  start "batch-$batch" $((8300 + batch)) --ModelMeter:Devices:cpu:HourlyUsd=0.17 \
    --ModelMeter:Models:demo-large:Path="$PWD/src/ModelMeter.Server/models/demo-large" --ModelMeter:Models:demo-large:Device=cpu \
    --ModelMeter:Models:demo-large:MaxBatch=$batch --ModelMeter:Models:demo-large:MaxQueue=1000 \
    --ModelMeter:Models:demo-small:Path="$PWD/src/ModelMeter.Server/models/demo-small" --ModelMeter:Models:demo-small:Device=cpu \
    --ModelMeter:Models:demo-small:MaxBatch=$batch --ModelMeter:Models:demo-small:MaxQueue=1000
done

script=${SCRIPT:-bench/load/batch.lua}
for model in ${MODELS:-demo-large demo-small}; do
  for connections in 1 4 16 32; do
    for batch in "${batches[@]}"; do
      port=$((8300 + batch))
      wrk -t1 -c"$connections" -d2s --timeout 60s -s "$script" "http://127.0.0.1:$port/v1/generate/$model" >/dev/null # warm-up
      printf '%-10s MaxBatch %-2s %2s conn  ' "$model" "$batch" "$connections"
      wrk -t1 -c"$connections" -d"${seconds}s" --timeout 60s -s "$script" "http://127.0.0.1:$port/v1/generate/$model" | tail -1
    done
  done
done
