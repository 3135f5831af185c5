#!/usr/bin/env bash
# The fleet ledger's benchmarks on Debian's ClickHouse: starts one on a free port with a temp directory, runs
# FleetLedgerBenchmarks (shipping 5,000 rows; summaries over 10 M rows), stops it by its process id.
# Usage: bench/fleet/clickhouse.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v /usr/sbin/clickhouse-server >/dev/null || apt-get -o DPkg::Lock::Timeout=300 install -y -q clickhouse-server
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
tcp=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$work/server.log</log><errorlog>$work/error.log</errorlog><console>0</console></logger>
  <listen_host>127.0.0.1</listen_host><http_port>$port</http_port><tcp_port>$tcp</tcp_port>
  <path>$work/data/</path><tmp_path>$work/tmp/</tmp_path><user_files_path>$work/user_files/</user_files_path>
  <format_schema_path>$work/format_schemas/</format_schema_path>
  <users_config>/etc/clickhouse-server/users.xml</users_config><default_profile>default</default_profile>
  <default_database>default</default_database><timezone>UTC</timezone><mark_cache_size>5368709</mark_cache_size>
</yandex>
XML
/usr/sbin/clickhouse-server --config-file="$work/config.xml" >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/ping" >/dev/null && break; sleep 0.1; done
MODELMETER_CLICKHOUSE_URL="http://127.0.0.1:$port/" dotnet run -c Release --project bench/ModelMeter.Benchmarks -- --filter '*FleetLedgerBenchmarks*'
