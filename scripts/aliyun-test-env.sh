#!/usr/bin/env bash
# The Python environment of the Alibaba Cloud KMS tests (kms/aliyun/tests): the loopback test
# server, the oracle CLI and the official Alibaba SDKs, in build/venv-aliyun (git-ignored).
#
# See scripts/test-venv.sh. Idempotent: creates the venv if missing, (re)installs kms/aliyun/tests/requirements.txt
# quietly, and prints the venv's python as the LAST line of stdout, so callers do
#     PY=$(bash scripts/aliyun-test-env.sh | tail -n 1)
# Needs only python3 with the venv module and pip (Debian: python3-venv); everything else
# comes from PyPI. Used by the Rust tests' docs, the C and Python tests, and CI.
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash scripts/test-venv.sh aliyun kms/aliyun/tests/requirements.txt
