#!/usr/bin/env bash
# The Python environment of the AWS KMS tests (kms/aws/tests): moto in server mode (the fake
# KMS and STS), the TLS front that injects faults, boto3 / botocore as the oracles, in
# build/venv-aws (git-ignored).
#
# See scripts/test-venv.sh. Idempotent; prints the venv's python as the LAST line of stdout:
#     PY=$(bash scripts/aws-test-env.sh | tail -n 1)
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash scripts/test-venv.sh aws kms/aws/tests/requirements.txt
