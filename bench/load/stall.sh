#!/usr/bin/env bash
# Do streams keep their pace when a long prompt joins? A server serving demo-large batched (MaxBatch 16, the default; the given
# PrefillChunkTokens), 6 streams of 96 greedy tokens, then one 900-token prompt (bench/load/stall.py prints the gaps).
# Usage: bench/load/stall.sh [PrefillChunkTokens...]   (default: 24, the default, and 100000 for a prompt computed whole;
# a fresh server each; WARMUP=0 measures each server's first run instead of its second; OPTIONS adds server options,
# e.g. OPTIONS=--ModelMeter:Models:demo-large:AllowSpinning=false). After each measured run it prints what the server's
# runtime did during it, from its own /metrics: collections, GC pause, methods JIT-compiled and JIT time.
set -euo pipefail
cd "$(dirname "$0")/../.."
chunks=("${@:-24 100000}")
read -r -a chunks <<<"${chunks[*]}"
source bench/load/lib.sh
models="$PWD/src/ModelMeter.Server/models"
read -r -a options <<<"${OPTIONS:-}"
runtime() { # port: "collections pause_s methods jit_s" from the System.Runtime meter
  curl -s "http://127.0.0.1:$1/metrics" >/dev/null # the first scrape starts the meter adapter
  curl -s "http://127.0.0.1:$1/metrics" | awk '
    /^system_runtime_dotnet_gc_collections\{/ { c += $2 }
    /^system_runtime_dotnet_gc_pause_time / { p = $2 }
    /^system_runtime_dotnet_jit_compiled_methods / { m = $2 }
    /^system_runtime_dotnet_jit_compilation_time / { j = $2 }
    END { print c, p, m, j }'
}
port=8391
for chunk in "${chunks[@]}"; do
  port=$((port + 1))
  start "stall-$chunk" $port --ModelMeter:Devices:cpu:HourlyUsd=0.17 --ModelMeter:Limits:MaxTokens=1024 \
    --ModelMeter:Models:demo-large:Path="$models/demo-large" --ModelMeter:Models:demo-large:Device=cpu \
    --ModelMeter:Models:demo-large:PrefillChunkTokens=$chunk "${options[@]}"
  echo "PrefillChunkTokens $chunk:"
  [[ ${WARMUP:-1} == 0 ]] || python3 bench/load/stall.py "http://127.0.0.1:$port" demo-large 6 900 >/dev/null # warm-up
  read -r c0 p0 m0 j0 <<<"$(runtime $port)"
  python3 bench/load/stall.py "http://127.0.0.1:$port" demo-large 6 900
  read -r c1 p1 m1 j1 <<<"$(runtime $port)"
  awk -v c=$((c1 - c0)) -v p="$p0 $p1" -v m=$((m1 - m0)) -v j="$j0 $j1" 'BEGIN { split(p, ps, " "); split(j, js, " ");
    printf "runtime meanwhile: %d collections, %.3f s of GC pause, %d methods compiled in %.2f s\n", c, ps[2] - ps[1], m, js[2] - js[1] }'
done
