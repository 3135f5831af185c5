#!/usr/bin/env bash
# The invariant harness, longer: eng/soak.sh --minutes N [--seed S]
# Runs the seeded random traffic of tests/ModelMeter.Server.Tests/Invariants for N minutes against one server and
# checks the promise (rows + idle = bill per device, one final row per answer, no step for an ended row, no
# unexplained 5xx, bounded memory). Without --seed a new one is drawn and printed; a failure names it.
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=10
seed=$(( $(date +%s) % 100000 ))
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    *) echo "usage: eng/soak.sh [--minutes N] [--seed S]" >&2; exit 2 ;;
  esac
done
[[ "$minutes" =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "--minutes '$minutes' is not a number" >&2; exit 2; }
[[ "$seed" =~ ^[0-9]+$ ]] || { echo "--seed '$seed' is not a whole number" >&2; exit 2; }

echo "Soak: ${minutes} min of random traffic, seed ${seed}"
dotnet build tests/ModelMeter.Server.Tests -c Release -nologo -v quiet
MODELMETER_HARNESS_SECONDS=$(awk "BEGIN { print $minutes * 60 }") MODELMETER_HARNESS_SEED="$seed" \
  dotnet test tests/ModelMeter.Server.Tests -c Release --no-build -nologo \
  --filter "FullyQualifiedName~Invariants.InvariantTests&DisplayName~seed: 1"
