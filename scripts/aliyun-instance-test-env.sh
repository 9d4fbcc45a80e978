#!/usr/bin/env bash
# The Python environment of the Alibaba Cloud KMS 3.0 instance API tests (kms/aliyun/tests): the
# loopback instance server, its oracle CLI and the official instance SDKs (alibabacloud-dkms-gcs,
# alibabacloud-kms-python-sdk's transfer client), in build/venv-dkms (git-ignored). A venv of its
# own: those SDKs pin protobuf < 3.20 and alibabacloud_kms20160120 < 3 (see
# kms/aliyun/tests/instance-requirements.txt), which build/venv-aliyun cannot hold.
#
# Idempotent: creates the venv if missing, (re)installs the requirements quietly, and prints the
# venv's python as the LAST line of stdout, so callers do
#     PY=$(bash scripts/aliyun-instance-test-env.sh | tail -n 1)
# Needs only python3 with the venv module and pip (Debian: python3-venv); everything else comes
# from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venv="$root/build/venv-dkms"
req="$root/kms/aliyun/tests/instance-requirements.txt"

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
