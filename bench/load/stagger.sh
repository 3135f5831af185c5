#!/usr/bin/env bash
# Do clients that begin apart fall into step? A fresh server serving demo-large batched (the defaults), warmed by wrk,
# then 16 clients of mixed prompts whose second half begins DELAY seconds after the first (bench/load/stagger.py prints
# the tokens/s and latencies counted once all have begun). Runs the given number of times, a fresh server each.
# Usage: bench/load/stagger.sh [runs] [delay seconds] [counted seconds]   (default: 2 1.2 40)
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-2} delay=${2:-1.2} seconds=${3:-40}
source bench/load/lib.sh
models="$PWD/src/ModelMeter.Server/models"
for run in $(seq 1 "$runs"); do
  port=$((8640 + run))
  start "stagger-$run" $port --ModelMeter:Devices:cpu:HourlyUsd=0.17 --ModelMeter:Models:demo-large:Path="$models/demo-large" \
    --ModelMeter:Models:demo-large:Device=cpu --ModelMeter:Models:demo-large:MaxQueue=1000
  wrk -t1 -c16 -d2s --timeout 60s -s bench/load/mixed.lua "http://127.0.0.1:$port/v1/generate/demo-large" >/dev/null # warm-up
  printf 'run %s, 16 clients, the second 8 %ss later:  ' "$run" "$delay"
  python3 bench/load/stagger.py "http://127.0.0.1:$port" demo-large 16 "$delay" "$seconds"
done
