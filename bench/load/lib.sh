# Shared by the load scripts: builds the server, keeps a temp folder, starts servers and stops them on exit.
# Source it from the repository root; then `start NAME PORT [--key=value ...]` starts one and waits for /readyz.
command -v wrk >/dev/null || apt-get -o DPkg::Lock::Timeout=300 install -y -q wrk
dotnet build src/ModelMeter.Server -c Release -nologo -v quiet >/dev/null
dll=src/ModelMeter.Server/bin/Release/net10.0/linux-x64/ModelMeter.Server.dll
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

start() { # name port args...
  local name=$1 port=$2; shift 2
  mkdir -p "$work/$name"
  dotnet "$dll" --contentRoot="$work/$name" --urls="http://127.0.0.1:$port" --Logging:LogLevel:Default=Warning \
    --ModelMeter:Ledger:Path="$work/$name/ledger.db" "$@" >"$work/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && return; sleep 0.1; done
  echo "$name did not start"; cat "$work/$name.log" >&2; exit 1
}
