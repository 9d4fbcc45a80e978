#!/usr/bin/env bash
# The Python bindings, as CI checks them: build and install the package exactly as a user does
# (`pip install ./python`: maturin from PyPI, a release build of the abi3 extension), then
# pytest, mypy.stubtest (the stubs match the module) and mypy --strict on the tests.
#
# Needs python3 with pip (and the Rust toolchain); everything else goes into a virtual
# environment under build/ (git-ignored), so it is safe on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

venv=build/venv-py
if [ ! -x "$venv/bin/python" ]; then
  echo "== creating $venv"
  python3 -m venv "$venv"
fi
py="$venv/bin/python"

echo "== test tools"
"$py" -m pip install --quiet --disable-pip-version-check \
  "maturin>=1.9,<2" pytest pyjwt cryptography mypy \
  "nacos-sdk-python==3.2.0; python_version >= '3.10'"  # for nacoscrypt.nacos_sdk's tests

echo "== pip install ./python"
t=$(date +%s)
"$py" -m pip install --disable-pip-version-check ./python
echo "   built and installed in $(( $(date +%s) - t )) s"

# The loopback Alibaba Cloud KMS test server for test_aliyun.py (stopped when this script exits).
source scripts/aliyun-server.sh
aliyun_server_start
trap aliyun_server_stop EXIT
export NACOSCRYPT_REQUIRE_SERVERS=1

# From the repository root (no nacoscrypt/ folder here): the tests import the installed package.
echo "== pytest"
"$py" -m pytest python/tests -q -p no:cacheprovider

echo "== mypy.stubtest nacoscrypt"
"$py" -m mypy.stubtest nacoscrypt

echo "== mypy --strict python/tests"
"$py" -m mypy --strict --cache-dir build/mypy-cache python/tests

echo "== keyring soak: 8 threads while another process rotates (${NACOSCRYPT_SOAK_SECONDS:-20} s)"
soak_dir=$(mktemp -d)
"$py" python/tests/soak_keyring.py "${NACOSCRYPT_SOAK_SECONDS:-20}" "$soak_dir"
rm -rf "$soak_dir"

echo "== Python bindings checked in $(( $(date +%s) - start )) s"
