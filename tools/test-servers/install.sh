#!/usr/bin/env bash
# Installs the real servers the tests drive (Python websockets, Node ws) into .deps/ at the
# repository root (ignored by git). Idempotent and safe to run concurrently: a lock serialises
# installers and a stamp skips work already done for the same pinned versions.
#
# Needs python3 with pip, and node with npm. Fails with one clear line if either is missing.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
deps="$root/.deps"
mkdir -p "$deps"

command -v python3 >/dev/null || { echo "install.sh: python3 is required for the Python websockets test server" >&2; exit 1; }
python3 -m pip --version >/dev/null 2>&1 || { echo "install.sh: pip is required (python3 -m pip) for the Python websockets test server" >&2; exit 1; }
command -v node >/dev/null || { echo "install.sh: node is required for the Node ws test server" >&2; exit 1; }
command -v npm >/dev/null || { echo "install.sh: npm is required for the Node ws test server" >&2; exit 1; }

exec 9>"$deps/.lock"
flock 9

stamp_of() { cat "$here/requirements.txt" "$here/package.json" | sha1sum | cut -d' ' -f1; }
want="$(stamp_of)"
if [[ -f "$deps/.stamp" && "$(cat "$deps/.stamp")" == "$want" ]]; then
  exit 0
fi

rm -rf "$deps/python" "$deps/node"
python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
  --root-user-action=ignore --target "$deps/python" -r "$here/requirements.txt" >&2
mkdir -p "$deps/node"
cp "$here/package.json" "$deps/node/"
npm install --prefix "$deps/node" --no-audit --no-fund --silent >&2
echo "$want" > "$deps/.stamp"
echo "install.sh: test servers installed in $deps" >&2
