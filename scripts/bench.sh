#!/usr/bin/env bash
# Runs the codec benchmarks (harness/benches/codec.rs) and prints a table of median
# throughputs.
#
# Usage: scripts/bench.sh [CRITERION_ARGS...]
#   Extra arguments go to criterion after `--noplot`, e.g. a filter: `scripts/bench.sh mask/`.
#
# The table is read from criterion's own results, <target>/criterion/<group>/<impl>/<size>/new/:
# benchmark.json gives the id and the bytes per iteration, estimates.json the median time per
# iteration in ns. Only results written by this run are shown. GB/s is decimal (1e9 bytes/s);
# criterion's console output uses GiB/s.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

target_dir=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
criterion_dir=${CRITERION_HOME:-$target_dir/criterion}

stamp=$(mktemp)
trap 'rm -f "$stamp"' EXIT

cargo bench -p wsconform --bench codec -- --noplot "$@"

echo
echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')  $(rustc -V)"
echo "host: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "load average (1/5/15 min) after the run: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

python3 - "$criterion_dir" "$stamp" <<'EOF'
import json
import os
import sys

root, stamp = sys.argv[1], sys.argv[2]
since = os.path.getmtime(stamp)


def fmt_time(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3f} {unit}"
    return f"{ns:.1f} ns"


def fmt_rate(bytes_per_s):
    if bytes_per_s >= 1e9:
        return f"{bytes_per_s / 1e9:.2f} GB/s"
    return f"{bytes_per_s / 1e6:.1f} MB/s"


def size_key(label):
    units = {"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}
    for suffix, scale in units.items():
        if label.endswith(suffix) and label[: -len(suffix)].isdigit():
            return int(label[: -len(suffix)]) * scale
    return 0


rows = []
for dirpath, _dirs, files in os.walk(root):
    if os.path.basename(dirpath) != "new" or "benchmark.json" not in files:
        continue
    bench_file = os.path.join(dirpath, "benchmark.json")
    estimates_file = os.path.join(dirpath, "estimates.json")
    if os.path.getmtime(bench_file) < since or not os.path.exists(estimates_file):
        continue  # a result from an earlier run, or of a benchmark no longer there
    with open(bench_file) as f:
        bench = json.load(f)
    with open(estimates_file) as f:
        median = json.load(f)["median"]
    throughput = bench.get("throughput") or {}
    nbytes = throughput.get("Bytes") or throughput.get("BytesDecimal")
    ns = median["point_estimate"]
    lo, hi = median["confidence_interval"]["lower_bound"], median["confidence_interval"]["upper_bound"]
    rate = fmt_rate(nbytes / ns * 1e9) if nbytes else "-"
    # Higher time bound gives the lower throughput bound.
    band = f"{nbytes / hi:.2f}–{nbytes / lo:.2f}" if nbytes else "-"
    parts = bench["full_id"].split("/")
    key = (parts[0], size_key(parts[-1]), bench["full_id"])
    rows.append((key, bench["full_id"], str(nbytes or "-"), fmt_time(ns), rate, band))

if not rows:
    sys.exit(f"no criterion results written by this run under {root}")

rows.sort()
header = ("benchmark", "bytes/iter", "median time", "median throughput", "95% CI (GB/s)")
table = [header] + [r[1:] for r in rows]
widths = [max(len(r[i]) for r in table) for i in range(len(header))]
for n, r in enumerate(table):
    print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    if n == 0:
        print("  ".join("-" * w for w in widths))
EOF
