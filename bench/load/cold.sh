#!/usr/bin/env bash
# A fresh server's first long prompt: each of the given number of servers (demo-large, defaults) runs bench/load/stall.py
# once, with no warm-up run, and prints the stall line with what its runtime did meanwhile (collections, GC pause, methods
# JIT-compiled and JIT time, read from the server's own /metrics before and after). Extra server options follow the count.
# Usage: bench/load/cold.sh [servers] [--ModelMeter:key=value ...]   (default: 4)
set -euo pipefail
cd "$(dirname "$0")/../.."
servers=${1:-4}
shift || true
source bench/load/lib.sh
models="$PWD/src/ModelMeter.Server/models"
runtime() { # port: "collections pause_s methods jit_s" from the System.Runtime meter
  curl -s "http://127.0.0.1:$1/metrics" >/dev/null # the first scrape starts the meter adapter
  curl -s "http://127.0.0.1:$1/metrics" | awk '
    /^system_runtime_dotnet_gc_collections\{/ { c += $2 }
    /^system_runtime_dotnet_gc_pause_time / { p = $2 }
    /^system_runtime_dotnet_jit_compiled_methods / { m = $2 }
    /^system_runtime_dotnet_jit_compilation_time / { j = $2 }
    END { print c, p, m, j }'
}
port=8520
for i in $(seq 1 "$servers"); do
  port=$((port + 1))
  start "cold-$i" $port --ModelMeter:Devices:cpu:HourlyUsd=0.17 --ModelMeter:Limits:MaxTokens=1024 \
    --ModelMeter:Models:demo-large:Path="$models/demo-large" --ModelMeter:Models:demo-large:Device=cpu "$@"
  read -r c0 p0 m0 j0 <<<"$(runtime $port)"
  line=$(python3 bench/load/stall.py "http://127.0.0.1:$port" demo-large 6 900 | tail -1)
  read -r c1 p1 m1 j1 <<<"$(runtime $port)"
  echo "server $i: ${line#long prompt: }"
  awk -v c="$((c1 - c0))" -v p="$p0 $p1" -v m="$((m1 - m0))" -v j="$j0 $j1" 'BEGIN {
    split(p, ps, " "); split(j, js, " ");
    printf "  meanwhile: %d collections, %.3f s of GC pause, %d methods compiled in %.2f s\n", c, ps[2] - ps[1], m, js[2] - js[1] }'
done
