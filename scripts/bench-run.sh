#!/usr/bin/env bash
# Times the full core run (301 cases) against the tokio-tungstenite echo server, with the
# server in its own process so that the harness's CPU time and memory are its own.
#
# Usage: scripts/bench-run.sh [RUNS]     (default 3 runs; prints each, then the medians)
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

echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')  $(nproc) CPUs  load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-4s %10s %14s %12s\n' run "wall s" "harness CPU s" "peak RSS MiB"
for i in $(seq 1 "$runs"); do
  /usr/bin/time -f '%e %U %S %M' -o "$out/time.txt" \
    "$bin" run "ws://127.0.0.1:$port/"  --out "$out/report" -q > /dev/null
  read -r wall user sys rss < "$out/time.txt"
  cpu=$(python3 -c "print(f'{$user + $sys:.2f}')")
  printf '%-4s %10s %14s %12s\n' "$i" "$wall" "$cpu" "$((rss / 1024))"
done
