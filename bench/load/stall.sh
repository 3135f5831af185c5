#!/usr/bin/env bash
# Do streams keep their pace when a long prompt joins? A server serving demo-large batched (MaxBatch 16, the default; the given
# PrefillChunkTokens), 6 streams of 96 greedy tokens, then one 900-token prompt (bench/load/stall.py prints the gaps).
# Usage: bench/load/stall.sh [PrefillChunkTokens...]   (default: 24, the default, and 100000 for a prompt computed whole;
# a fresh server each; WARMUP=0 measures each server's first run instead of its second)
set -euo pipefail
cd "$(dirname "$0")/../.."
chunks=("${@:-24 100000}")
read -r -a chunks <<<"${chunks[*]}"
source bench/load/lib.sh
models="$PWD/src/ModelMeter.Server/models"
port=8391
for chunk in "${chunks[@]}"; do
  port=$((port + 1))
  start "stall-$chunk" $port --ModelMeter:Devices:cpu:HourlyUsd=0.17 --ModelMeter:Limits:MaxTokens=1024 \
    --ModelMeter:Models:demo-large:Path="$models/demo-large" --ModelMeter:Models:demo-large:Device=cpu \
    --ModelMeter:Models:demo-large:PrefillChunkTokens=$chunk
  echo "PrefillChunkTokens $chunk:"
  [[ ${WARMUP:-1} == 0 ]] || python3 bench/load/stall.py "http://127.0.0.1:$port" demo-large 6 900 >/dev/null # warm-up
  python3 bench/load/stall.py "http://127.0.0.1:$port" demo-large 6 900
done
