#!/usr/bin/env bash
# Mutation testing of the money path, by hand (not in CI: it takes minutes): Stryker.NET mutates core's Allocation,
# Metering, Pricing and Budgets folders and runs tests/ModelMeter.Tests against each mutant. Prints the score;
# the HTML report lands in tests/ModelMeter.Tests/StrykerOutput/. Usage: eng/mutation.sh [extra stryker flags]
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet tool restore >/dev/null
cd tests/ModelMeter.Tests
dotnet tool run dotnet-stryker \
  --project ModelMeter.csproj \
  --mutate "**/Allocation/**/*.cs" --mutate "**/Metering/**/*.cs" --mutate "**/Pricing/**/*.cs" --mutate "**/Budgets/**/*.cs" \
  --reporter html --reporter progress --reporter cleartext \
  --concurrency "$(nproc)" "$@"
