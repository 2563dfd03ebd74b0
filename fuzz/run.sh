#!/usr/bin/env bash
# Builds every fuzz target and runs each one time-boxed, on stable Rust (`--sanitizer none`).
#
#   FUZZ_SECONDS=30 fuzz/run.sh      # the default is 30 seconds per target
#
# Each target starts from a temporary corpus seeded from fuzz/seeds/<target>/, so the tree is
# not dirtied (the grown corpus is thrown away); with FUZZ_CORPUS=DIR, from DIR/<target>/
# instead, which keeps what the run grows (a CI cache: docs/ci/cargo-fuzz.yml). All targets run even when one finds
# something; then the script prints every finding and exits 1. Findings are left where
# cargo-fuzz writes them, fuzz/artifacts/<target>/{crash,timeout,oom}-<sha1> (git-ignored); see
# fuzz/README.md for reproducing, minimising and committing them.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS="${FUZZ_SECONDS:-30}"

cargo fuzz build --sanitizer none

work="$(mktemp -d "${TMPDIR:-/tmp}/wsconform-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT

targets="$(cargo fuzz list)"
summary=()
findings=()
for t in $targets; do
    corpus="${FUZZ_CORPUS:-$work/corpus}/$t"
    mkdir -p "$corpus" "fuzz/artifacts/$t"
    if [ -d "fuzz/seeds/$t" ]; then
        cp -R "fuzz/seeds/$t/." "$corpus/"
    fi
    seeds="$(find "$corpus" -type f | wc -l)"
    log="$work/$t.log"
    marker="$work/$t.start"
    touch "$marker"
    echo "--- fuzzing $t for ${FUZZ_SECONDS}s ($seeds seed files)"
    rc=0
    cargo fuzz run --sanitizer none "$t" "$corpus" -- \
        -max_total_time="$FUZZ_SECONDS" -use_value_profile=1 -timeout=10 \
        -rss_limit_mb=2048 -max_len=65536 >"$log" 2>&1 || rc=$?

    # libFuzzer ends a clean run with "Done N runs in S second(s)"; after a finding, the last
    # status line "#N ..." gives the count instead.
    runs="$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1 runs in \2 s/p' "$log" | tail -n 1)"
    if [ -z "$runs" ]; then
        runs="$(sed -n 's/^#\([0-9][0-9]*\)[[:space:]].*/\1 runs (stopped early)/p' "$log" | tail -n 1)"
    fi
    cov="$(sed -n 's/^#[0-9]*[[:space:]].*cov: \([0-9]*\) ft: \([0-9]*\) corp: \([0-9]*\).*/cov \1, ft \2, corpus \3/p' "$log" | tail -n 1)"
    artifacts="$(find "fuzz/artifacts/$t" -type f -newer "$marker" | sort)"

    if [ "$rc" -eq 0 ] && [ -z "$artifacts" ]; then
        summary+=("ok     $t: ${runs:-? runs}${cov:+, $cov}")
    else
        summary+=("FAILED $t: exit $rc, ${runs:-? runs}${cov:+, $cov}")
        echo "!!! $t found something (cargo fuzz exit $rc); the end of its output:"
        tail -n 80 "$log"
        if [ -n "$artifacts" ]; then
            for a in $artifacts; do
                findings+=("$t: $a")
            done
        else
            findings+=("$t: exit $rc with no artifact (build or setup failure?)")
        fi
    fi
done

echo
echo "=== fuzz summary (${FUZZ_SECONDS}s per target)"
printf '%s\n' "${summary[@]}"
if [ "${#findings[@]}" -gt 0 ]; then
    echo
    echo "=== findings: reproduce with 'cargo fuzz run --sanitizer none <target> <artifact>'"
    printf '%s\n' "${findings[@]}"
    exit 1
fi
