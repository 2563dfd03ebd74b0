#!/usr/bin/env bash
# Times a full run (all cases; CASES='1.*,2.*' for a selection) against the
# tokio-tungstenite echo server, with the server in its own process so that the harness's CPU
# time and memory are its own.
#
# Usage: [CASES=PATTERNS] scripts/bench-run.sh [RUNS]   (default 3 runs; prints each)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

runs=${1:-3}
cargo build --release -q -p wsconform
bin=target/release/wsconform

out=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$out"' EXIT
"$bin" echo > "$out/echo.txt" &
server=$!
for _ in $(seq 1 50); do grep -q LISTENING "$out/echo.txt" 2>/dev/null && break; sleep 0.1; done
port=$(awk '/LISTENING/ {print $2}' "$out/echo.txt")
[[ -n "$port" ]] || { echo "bench-run: the echo server did not start" >&2; exit 1; }

echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')  $(nproc) CPUs  load: $(cut -d' ' -f1-3 /proc/loadavg)  cases: ${CASES:-all}"
printf '%-4s %10s %14s %12s\n' run "wall s" "harness CPU s" "peak RSS MiB"
for i in $(seq 1 "$runs"); do
  /usr/bin/time -f '%e %U %S %M' -o "$out/time.txt" \
    "$bin" run "ws://127.0.0.1:$port/" ${CASES:+--cases "$CASES"} --out "$out/report" -q > /dev/null || true  # exit 1: conformance failures
  # (time writes "Command exited with non-zero status 1" first when cases fail.)
  read -r wall user sys rss < <(tail -n 1 "$out/time.txt")
  cpu=$(python3 -c "print(f'{$user + $sys:.2f}')")
  printf '%-4s %10s %14s %12s\n' "$i" "$wall" "$cpu" "$((rss / 1024))"
done
