#!/usr/bin/env bash
# Every benchmark of docs/benchmarks.md in one run, one after another on an otherwise idle machine, each into its own
# file under the given folder (default: a new temp folder, printed at the end), with the machine, date and commit in
# run.txt. Took 30 minutes on the Zen 5 2-core VM (2026-11-30), 44-49 on the Zen 3 one (2026-12-01), 40 on a Zen 4 one (2026-12-02). Nothing else (tests, builds, servers) may run meanwhile: the figures
# share the cores.
# Usage: bench/all.sh [output folder]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-$(mktemp -d -t modelmeter-bench-XXXXXX)}
mkdir -p "$out"
{
  date -u '+%Y-%m-%d %H:%M UTC'
  git rev-parse --short HEAD
  grep -m1 'model name' /proc/cpuinfo; nproc; free -g | sed -n 2p
  dotnet --version
} >"$out/run.txt"

step() { # name command...: runs one benchmark, its output into NAME.txt, its summary lines on screen
  local name=$1; shift
  echo "== $name"
  "$@" >"$out/$name.txt" 2>&1 || echo "$name failed: see $out/$name.txt"
  tail -3 "$out/$name.txt"
}

bdn() { dotnet run -c Release --project bench/ModelMeter.Benchmarks -- --filter "$@"; }
step metering bdn '*MeteringBenchmarks*'
step generation bdn '*GenerationBenchmarks*' --job short
step batched-decode bdn '*BatchedDecodeBenchmarks*' --job short
step ledger-ingest bdn '*LedgerIngestBenchmarks*' --job short
step ledger-summary bdn '*LedgerSummaryBenchmarks*' --job short
step fleet-clickhouse bench/fleet/clickhouse.sh
step fleet-redis bench/fleet/redis.sh
step http-strict bench/load/run.sh Strict 15
step http-relaxed bench/load/run.sh Relaxed 15
step gateway bench/load/gateway.sh 10
step scheduler-waves dotnet run -c Release --project bench/ModelMeter.Benchmarks -- scheduler 15 1 8 16
step scheduler-staggered dotnet run -c Release --project bench/ModelMeter.Benchmarks -- scheduler 15 --staggered 1 8 16
step batching-mixed env SCRIPT=bench/load/mixed.lua MODELS=demo-large bench/load/batching.sh 10 1 4 8 16 32
step rounds bench/load/rounds.sh 30 16 3 1 16
step stall bench/load/stall.sh 24 24 24 32 100000
step stall-cold env WARMUP=0 bench/load/stall.sh 24 24 24
step stagger bench/load/stagger.sh 2
step split bench/load/split.sh 5
step classic bench/peers/compare.sh 15
echo "all figures in $out"
