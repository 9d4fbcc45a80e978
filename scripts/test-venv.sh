#!/usr/bin/env bash
# A Python environment for a suite of tests: build/venv-NAME (git-ignored) holding REQUIREMENTS.
#     PY=$(bash scripts/test-venv.sh NAME path/to/requirements.txt | tail -n 1)
# Idempotent: creates the venv if missing, (re)installs the requirements quietly when they (or
# the Python version) changed since the last install, and prints the venv's python as the LAST
# line of stdout. Needs only python3 with the venv module and pip (Debian: python3-venv);
# everything else comes from PyPI. Progress goes to stderr.
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 NAME REQUIREMENTS" >&2
  exit 2
fi
cd "$(dirname "$0")/.."
root=$(pwd)
venv="$root/build/venv-$1"
req=$(realpath "$2")

if [ ! -x "$venv/bin/python" ]; then
  echo "== creating $venv" >&2
  mkdir -p "$root/build"
  python3 -m venv "$venv"
fi

# Skip pip when the installed set already matches this requirements file (fast re-runs).
stamp="$venv/.requirements.sha256"
want=$( (sha256sum "$req"; "$venv/bin/python" -V 2>&1) | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "== installing $req" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
  echo "$want" > "$stamp"
fi

echo "$venv/bin/python"
