#!/usr/bin/env bash
# CI time, side by side: the same test files run at the same time from a copy of BASE (default
# main) and from this checkout, so both see the same load. Prints each side's wall time.
# Usage: bash benchmarks/ci_time.sh [BASE] [TEST FILES...]   (default: six browser modules)
# For the binder install: bash benchmarks/ci_time.sh --binder
set -euo pipefail
cd "$(dirname "$0")/.."
here=$PWD
out=$(mktemp -d)
echo "load at start: $(cat /proc/loadavg)"
if [ "${1:-}" = --binder ]; then  # binder/requirements.txt into two fresh venvs
  one() {
    python3 -m venv "$out/$1"
    local s; s=$(date +%s.%N)
    "$out/$1/bin/python" -m pip install --quiet "${@:2}" -r binder/requirements.txt \
      > "$out/$1.log" 2>&1
    echo "$1: $(echo "$(date +%s.%N) - $s" | bc) s"
  }
  one compiled & one no-compile --no-compile & wait
else
  base=${1:-main}; shift || true
  files=("$@")
  [ ${#files[@]} -gt 0 ] || files=(tests/browser/test_browser_zoom.py
    tests/browser/test_browser_photo_operations.py tests/browser/test_browser_restore.py
    tests/browser/test_browser_notebook_keys.py tests/browser/test_browser_voila.py
    tests/browser/test_browser_notebook7.py)
  mkdir "$out/base" && git archive "$base" | tar -x -C "$out/base"
  ln -s "$here/.venv" "$out/base/.venv"
  side() {
    cd "$1"; local s; s=$(date +%s.%N)
    CI=true "$here/.venv/bin/python" -m pytest "${files[@]}" -q -p no:cacheprovider \
      --basetemp="$out/tmp-$2" > "$out/$2.log" 2>&1 || echo "$2: FAILED (see $out/$2.log)"
    echo "$2: $(echo "$(date +%s.%N) - $s" | bc) s, $(tail -n 1 "$out/$2.log")"
  }
  side "$out/base" "$base" & side "$here" "this checkout" & wait
fi
echo "load at end: $(cat /proc/loadavg)"
