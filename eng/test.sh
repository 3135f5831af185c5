#!/usr/bin/env bash
# The one test command: installs what the tests need, builds, runs every test project,
# and ends with the line "N passed, N failed". Exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."

# Debian packages the test suite starts itself (Prometheus and promtool for the monitoring bundle,
# Chromium for the dashboard, ClickHouse for the fleet ledger, Redis for fleet budgets, docker-compose to validate
# deploy/compose; curl runs the README's first request).
# Installed only when missing, with one apt-get update.
packages=(prometheus chromium clickhouse-server redis-server docker-compose curl)
missing=()
# The build runs npm ci in web/ (the dashboard's uPlot); Debian's npm brings Node.js.
command -v npm >/dev/null || missing+=(npm)
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -q && apt-get -o DPkg::Lock::Timeout=300 install -y -q "${missing[@]}" || { echo "0 passed, 1 failed"; exit 1; }
fi

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

if ! dotnet build ModelMeter.slnx -c Release -nologo -v quiet; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi

status=0
# The feature folders of each project import no cycle (counted as one test).
checks_passed=0
checks_failed=0
if dotnet run eng/folder-cycles.cs; then checks_passed=1; else checks_failed=1; status=1; fi

for project in tests/*/*Tests.csproj; do # (tests/ModelMeter.Testing is the test kit, not a test project)
  name=$(basename "$project" .csproj)
  dotnet test "$project" -c Release --no-build -nologo --logger "trx;LogFileName=$name.trx" --results-directory "$results" || status=1
done

passed=$checks_passed
failed=$checks_failed
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
done

# A test project that crashed writes no counters: count it as a failure.
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1
fi

echo "$passed passed, $failed failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
