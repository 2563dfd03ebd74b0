#!/usr/bin/env bash
# The size-limit probe (16.1.1) against Python websockets with no message size limit at all
# (tools/test-servers/echo_websockets.py --no-limit), so that it runs to its ceiling: wall time,
# the harness's CPU time and its peak RSS, which must stay at or under 100 MiB whatever the
# ceiling (the payload is streamed and the echoes are measured, not kept). Then the same probe
# against websockets' default limit (1 MiB) and the test servers' 32 MiB, and against Node ws's
# default (100 MiB).
#
# Usage: [CEILINGS="268435456 1073741824"] scripts/bench-limit.sh
# Needs tools/test-servers/install.sh to have run (.deps).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cargo build --release -q -p wsconform
bin=target/release/wsconform
[[ -d .deps/python && -d .deps/node ]] || tools/test-servers/install.sh >/dev/null

out=$(mktemp -d)
server=
trap '[[ -n "$server" ]] && kill "$server" 2>/dev/null; rm -rf "$out"' EXIT

# Starts a server from the command in "$@"; sets $server and $port.
start_server() {
  [[ -n "$server" ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  "$@" > "$out/server.txt" 2>/dev/null &
  server=$!
  for _ in $(seq 1 100); do grep -q LISTENING "$out/server.txt" 2>/dev/null && break; sleep 0.1; done
  port=$(awk '/LISTENING/ {print $2}' "$out/server.txt")
  [[ -n "$port" ]] || { echo "bench-limit: the server did not start" >&2; exit 1; }
}

# Runs 16.1.1 with the extra arguments; prints a row and the case's reason.
probe() {
  local label=$1
  shift
  /usr/bin/time -f '%e %U %S %M' -o "$out/time.txt" \
    "$bin" run "ws://127.0.0.1:$port/" --cases 16.1.1 --out "$out/report" -q "$@" > /dev/null || true
  read -r wall user sys rss < <(tail -n 1 "$out/time.txt")
  printf '%-34s %8s %14s %13s\n' "$label" "$wall" "$(python3 -c "print(f'{$user + $sys:.1f}')")" "$((rss / 1024))"
  python3 -c "import json; r=json.loads(open('$out/report/results.jsonl').readline()); print('    ', r['behavior'], '-', r['reason'])"
}

echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')  $(nproc) CPUs  load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-34s %8s %14s %13s\n' "probe (16.1.1)" "wall s" "harness CPU s" "peak RSS MiB"
start_server env PYTHONPATH=.deps/python python3 tools/test-servers/echo_websockets.py 0 --no-limit
for ceiling in ${CEILINGS:-268435456 1073741824}; do
  probe "websockets, no limit, to $((ceiling >> 20)) MiB" --param "probe_ceiling=$ceiling"
done
start_server env PYTHONPATH=.deps/python python3 tools/test-servers/echo_websockets.py 0 --default-limit
probe "websockets, its default 1 MiB limit"
start_server env PYTHONPATH=.deps/python python3 tools/test-servers/echo_websockets.py 0
probe "websockets, 32 MiB (tools/test-servers)"
start_server env WS_NODE_MODULES="$PWD/.deps/node/node_modules" node tools/test-servers/echo_ws.js 0 --default-limit
probe "ws, its default 100 MiB limit"
