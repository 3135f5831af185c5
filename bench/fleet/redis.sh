#!/usr/bin/env bash
# Fleet budgets' cost per request: starts Debian's redis-server on a free port (no persistence, temp directory), runs
# RedisBudgetBenchmarks (admission + settlement round trips), stops it by its process id.
# Usage: bench/fleet/redis.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v redis-server >/dev/null || apt-get -o DPkg::Lock::Timeout=300 install -y -q redis-server
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
MODELMETER_REDIS="127.0.0.1:$port" dotnet run -c Release --project bench/ModelMeter.Benchmarks -- --filter '*RedisBudgetBenchmarks*'
