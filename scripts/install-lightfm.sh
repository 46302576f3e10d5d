#!/usr/bin/env bash
# Install LightFM 1.17 (the learned peer baseline) into a Python environment.
#
# Usage: scripts/install-lightfm.sh [path/to/python]   (default: .venv/bin/python)
#
# Why not plain `pip install lightfm`: its sdist's setup.py does
# `__builtins__.__LIGHTFM_SETUP__ = True`, which fails under current setuptools
# ('dict' object has no attribute ...). We download the pinned sdist, check its hash,
# patch that one line and build it without build isolation.
set -euo pipefail

PY="${1:-.venv/bin/python}"
URL="https://files.pythonhosted.org/packages/1f/96/5ec230f5c27811534af0faaa8525f11c1000ee1c24c8a82c0546d0724aea/lightfm-1.17.tar.gz"
SHA256="2b77ada182ccd768a8d7643ab3cfcd8b6e855db09087f7cc7329bd63316697a8"

if ! "$PY" -c "import sys" 2>/dev/null; then
    echo "install-lightfm: '$PY' is not a working Python" >&2
    exit 2
fi

if "$PY" -c "import lightfm" 2>/dev/null; then
    echo "install-lightfm: lightfm already importable with $PY"
    exit 0
fi

# Build tools go into the target env because the build runs without isolation.
"$PY" -m pip install -q setuptools wheel cython

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# Download and verify with the target Python, so curl/sha256sum are not required.
"$PY" - "$URL" "$SHA256" "$TMP/lightfm-1.17.tar.gz" <<'EOF'
import hashlib
import sys
import urllib.request

url, expected, dest = sys.argv[1:4]
with urllib.request.urlopen(url, timeout=120) as response:
    data = response.read()
actual = hashlib.sha256(data).hexdigest()
if actual != expected:
    sys.exit(f"install-lightfm: sha256 mismatch for {url}: got {actual}, expected {expected}")
with open(dest, "wb") as fh:
    fh.write(data)
EOF

tar -xzf "$TMP/lightfm-1.17.tar.gz" -C "$TMP"
SRC="$TMP/lightfm-1.17"
sed -i 's/^__builtins__.__LIGHTFM_SETUP__ = True/import builtins; builtins.__LIGHTFM_SETUP__ = True/' \
    "$SRC/setup.py"
# Fail loudly if upstream changed and the patch no longer applies.
grep -q '^import builtins; builtins.__LIGHTFM_SETUP__ = True' "$SRC/setup.py" || {
    echo "install-lightfm: could not patch $SRC/setup.py" >&2
    exit 1
}

"$PY" -m pip install -q --no-build-isolation "$SRC"
"$PY" -c "import lightfm; print('install-lightfm: lightfm', lightfm.__version__, 'installed')"
