#!/usr/bin/env bash
# HTTP load on the metered path: the server (Release build) with demo-small, one token per request,
# so the figure is dominated by HTTP, metering and the ledger, not by the model.
# Usage: bench/load/run.sh [Strict|Relaxed] [seconds]
set -euo pipefail
cd "$(dirname "$0")/../.."
durability=${1:-Strict}
seconds=${2:-15}
command -v wrk >/dev/null || apt-get -o DPkg::Lock::Timeout=300 install -y -q wrk
work=$(mktemp -d)
dotnet build src/ModelMeter.Server -c Release -nologo -v quiet
dotnet src/ModelMeter.Server/bin/Release/net10.0/linux-x64/ModelMeter.Server.dll \
  --contentRoot="$PWD/src/ModelMeter.Server" --urls=http://127.0.0.1:8099 \
  --ModelMeter:Ledger:Path="$work/ledger.db" --ModelMeter:Ledger:Durability="$durability" \
  --ModelMeter:Models:demo-small:MaxConcurrency=4 --ModelMeter:Models:demo-small:MaxQueue=10000 \
  --Logging:LogLevel:Default=Warning >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 600); do curl -sf http://127.0.0.1:8099/readyz >/dev/null && break; sleep 0.1; done
wrk -t2 -c16 -d"${seconds}s" --latency -s bench/load/generate.lua http://127.0.0.1:8099/v1/generate/demo-small
