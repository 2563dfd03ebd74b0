#!/usr/bin/env bash
# The full run against Python websockets with permessage-deflate on (the server of
# tools/test-servers, its own process): wall time, the harness's CPU time and peak RSS, and
# the server's CPU time in the same run. With AUTOBAHN=1 (and ../shared/tools/autobahn set
# up), Autobahn's fuzzingclient runs all its 517 cases against a fresh server of the same kind
# right after, measured the same way, for the side-by-side figures in the README.
#
# Usage: [CASES=PATTERNS] [AUTOBAHN=1] scripts/bench-deflate.sh [RUNS]   (default 1 run)
# Needs tools/test-servers/install.sh to have run (.deps/python).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

runs=${1:-1}
cargo build --release -q -p wsconform
bin=target/release/wsconform
[[ -d .deps/python ]] || tools/test-servers/install.sh >/dev/null

out=$(mktemp -d)
server=
trap '[[ -n "$server" ]] && kill "$server" 2>/dev/null; rm -rf "$out"' EXIT

# Starts a fresh server; sets $server and $port.
start_server() {
  [[ -n "$server" ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  PYTHONPATH=.deps/python python3 tools/test-servers/echo_websockets.py 0 > "$out/server.txt" 2>/dev/null &
  server=$!
  for _ in $(seq 1 100); do grep -q LISTENING "$out/server.txt" 2>/dev/null && break; sleep 0.1; done
  port=$(awk '/LISTENING/ {print $2}' "$out/server.txt")
  [[ -n "$port" ]] || { echo "bench-deflate: the server did not start" >&2; exit 1; }
}

# CPU seconds (user + system) the server has used so far.
server_cpu() {
  python3 -c "import os; f=open('/proc/$server/stat').read().split(')')[1].split(); t=os.sysconf('SC_CLK_TCK'); print((int(f[11])+int(f[12]))/t)"
}

echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')  $(nproc) CPUs  load: $(cut -d' ' -f1-3 /proc/loadavg)  cases: ${CASES:-all}"
printf '%-11s %8s %14s %13s %13s\n' run "wall s" "harness CPU s" "server CPU s" "peak RSS MiB"
for i in $(seq 1 "$runs"); do
  start_server
  before=$(server_cpu)
  /usr/bin/time -f '%e %U %S %M' -o "$out/time.txt" \
    "$bin" run "ws://127.0.0.1:$port/" ${CASES:+--cases "$CASES"} --out "$out/report" -q \
    > /dev/null || true  # exit 1: conformance failures
  read -r wall user sys rss < <(tail -n 1 "$out/time.txt")
  after=$(server_cpu)
  printf '%-11s %8s %14s %13s %13s\n' "wsconform$i" "$wall" \
    "$(python3 -c "print(f'{$user + $sys:.1f}')")" \
    "$(python3 -c "print(f'{$after - $before:.1f}')")" "$((rss / 1024))"
done

if [[ "${AUTOBAHN:-}" == 1 ]]; then
  wstest=$(../shared/tools/autobahn/setup.sh | tail -1)
  start_server
  cat > "$out/spec.json" <<EOF
{"outdir": "$out/ab", "servers": [{"agent": "websockets", "url": "ws://127.0.0.1:$port"}],
 "cases": ["*"], "exclude-cases": [], "exclude-agent-cases": {}}
EOF
  before=$(server_cpu)
  /usr/bin/time -f '%e %U %S %M' -o "$out/time.txt" \
    "$wstest" -m fuzzingclient -s "$out/spec.json" > "$out/wstest.log" 2>&1 || true
  read -r wall user sys rss < <(tail -n 1 "$out/time.txt")
  after=$(server_cpu)
  printf '%-11s %8s %14s %13s %13s\n' autobahn "$wall" \
    "$(python3 -c "print(f'{$user + $sys:.1f}')")" \
    "$(python3 -c "print(f'{$after - $before:.1f}')")" "$((rss / 1024))"
fi
