#!/usr/bin/env bash
# Compile the matching engine core with mypyc (optional: the pure-Python core is the fallback).
#
#   scripts/build_engine.sh            # builds apps/matching/engine/_core_native.*.so
#   scripts/build_engine.sh --clean    # removes it
#
# The compiled module is a copy of core.py stamped with core.py's SHA-256; the package imports
# it only while the stamp matches the source, so an edited core.py never runs stale native code.
# Needs mypy (requirements/dev.txt) and a C compiler. Binaries are built, never committed.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ENGINE="$REPO/apps/matching/engine"
PY="${PY:-$REPO/.venv/bin/python}"
[[ "$PY" = /* ]] || PY="$REPO/$PY"  # the build runs in a scratch folder

rm -f "$ENGINE"/_core_native*.so "$ENGINE"/_core_native*.pyd
if [[ "${1:-}" == "--clean" ]]; then
    exit 0
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/apps/matching/engine"
touch "$WORK/apps/__init__.py" "$WORK/apps/matching/__init__.py" "$WORK/apps/matching/engine/__init__.py"
DIGEST="$(sha256sum "$ENGINE/core.py" | cut -d' ' -f1)"
{
    cat "$ENGINE/core.py"
    printf '\n\nSOURCE_DIGEST: Final = "%s"\n' "$DIGEST"
} > "$WORK/apps/matching/engine/_core_native.py"

cd "$WORK"
MYPYC_OPT_LEVEL="${MYPYC_OPT_LEVEL:-3}" "$PY" -m mypyc apps/matching/engine/_core_native.py > build.log 2>&1 || {
    cat build.log
    exit 1
}
cp apps/matching/engine/_core_native*.so "$ENGINE/"
echo "built $(ls "$ENGINE"/_core_native*.so | tr "\n" " ")from core.py sha256 ${DIGEST:0:12}"
