#!/usr/bin/env bash
# The tungstenite style of Autobahn consumer: strip durations from index.json with jq and
# diff it against a committed expected file; exit 64 on any difference, as tungstenite's
# scripts/autobahn-server.sh does.
#
# Usage: golden-diff.sh AGENT index.json expected.json
set -euo pipefail
agent=$1 index=$2 expected=$3
command -v jq >/dev/null || { echo "golden-diff.sh: jq is required" >&2; exit 2; }
if ! diff -q <(jq -S "del(.\"$agent\" | .. | .duration?)" "$expected") \
             <(jq -S "del(.\"$agent\" | .. | .duration?)" "$index") >/dev/null; then
  diff <(jq -S "del(.\"$agent\" | .. | .duration?)" "$expected") \
       <(jq -S "del(.\"$agent\" | .. | .duration?)" "$index") || true
  echo "golden-diff.sh: results differ from $expected" >&2
  exit 64
fi
echo "golden-diff.sh: results match $expected"
