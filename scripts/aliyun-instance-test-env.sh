#!/usr/bin/env bash
# The Python environment of the Alibaba Cloud KMS 3.0 instance API tests (kms/aliyun/tests): the
# loopback instance server, its oracle CLI and the official instance SDKs (alibabacloud-dkms-gcs,
# alibabacloud-kms-python-sdk's transfer client), in build/venv-dkms (git-ignored). A venv of its
# own: those SDKs pin protobuf < 3.20 and alibabacloud_kms20160120 < 3 (see
# kms/aliyun/tests/instance-requirements.txt), which build/venv-aliyun cannot hold.
#
# See scripts/test-venv.sh. Idempotent: creates the venv if missing, (re)installs the requirements quietly, and prints the
# venv's python as the LAST line of stdout, so callers do
#     PY=$(bash scripts/aliyun-instance-test-env.sh | tail -n 1)
# Needs only python3 with the venv module and pip (Debian: python3-venv); everything else comes
# from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash scripts/test-venv.sh dkms kms/aliyun/tests/instance-requirements.txt
