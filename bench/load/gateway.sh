#!/usr/bin/env bash
# Gateway overhead: small non-streamed completions (one token) straight to an upstream ModelMeter serving
# demo-small, and through a front ModelMeter whose model is "Backend": "OpenAI" to that upstream, with the
# front's ledger Relaxed and Strict. One connection and 16 connections. Everything shares this machine's cores.
# Usage: bench/load/gateway.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-10}
source bench/load/lib.sh

start upstream 8201 --ModelMeter:Devices:cpu:HourlyUsd=0.17 --ModelMeter:Ledger:Durability=Relaxed \
  --ModelMeter:Models:demo-small:Path="$PWD/src/ModelMeter.Server/models/demo-small" --ModelMeter:Models:demo-small:Device=cpu \
  --ModelMeter:Models:demo-small:MaxConcurrency=4 --ModelMeter:Models:demo-small:MaxQueue=10000
for durability in Relaxed Strict; do
  port=$([ $durability = Relaxed ] && echo 8202 || echo 8203)
  start "front-$durability" $port --ModelMeter:Devices:gpu0:HourlyUsd=2.5 --ModelMeter:Ledger:Durability=$durability \
    --ModelMeter:Models:gw-small:Backend=OpenAI --ModelMeter:Models:gw-small:BaseUrl=http://127.0.0.1:8201/v1 \
    --ModelMeter:Models:gw-small:UpstreamModel=demo-small --ModelMeter:Models:gw-small:Device=gpu0 --ModelMeter:Models:gw-small:MaxQueue=10000
done

run() { # label model port connections
  echo "== $1, $4 connection(s)"
  MODEL=$2 wrk -t1 -c"$4" -d"${seconds}s" --latency -s bench/load/completion.lua "http://127.0.0.1:$3/v1/completions" \
    | grep -E "Requests/sec|^ +50%|^ +99%|Non-2xx|Socket errors"
}

for connections in 1 16; do
  # Warm each path first (JIT, connection pools), then measure.
  for target in "demo-small 8201" "gw-small 8202" "gw-small 8203"; do
    set -- $target; MODEL=$1 wrk -t1 -c"$connections" -d2s -s bench/load/completion.lua "http://127.0.0.1:$2/v1/completions" >/dev/null
  done
  run "direct to the upstream" demo-small 8201 $connections
  run "through the gateway (ledger Relaxed)" gw-small 8202 $connections
  run "through the gateway (ledger Strict)" gw-small 8203 $connections
done
