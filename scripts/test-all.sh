#!/usr/bin/env bash
# Runs every test of the project. Safe on a fresh machine: each part installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
section() { printf '\n== %s (%ss)\n' "$*" "$(( $(date +%s) - start ))"; }

section "Python environment of the key-service test servers (official SDKs as oracles)"
NACOSCRYPT_ALIYUN_PY=$(bash scripts/aliyun-test-env.sh | tail -n 1)
NACOSCRYPT_ALIYUN_INSTANCE_PY=$(bash scripts/aliyun-instance-test-env.sh | tail -n 1)
NACOSCRYPT_AWS_PY=$(bash scripts/aws-test-env.sh | tail -n 1)
export NACOSCRYPT_ALIYUN_PY NACOSCRYPT_ALIYUN_INSTANCE_PY NACOSCRYPT_AWS_PY

section "SoftHSM2, the PKCS#11 module of the kms/pkcs11 tests (installed when missing)"
NACOSCRYPT_PKCS11_MODULE=$(bash scripts/softhsm-test-env.sh | tail -n 1)
export NACOSCRYPT_PKCS11_MODULE
# The key-service tests fail (never skip) when their test servers cannot start.
export NACOSCRYPT_REQUIRE_SERVERS=1

section "Rust: unit, integration, property and doc tests (default features)"
cargo test --workspace --locked

section "make install-cli: the command with its man pages and completions (debug build)"
cli_prefix=$(mktemp -d)
make --no-print-directory install-cli PREFIX="$cli_prefix" CLI_PROFILE=dev >/dev/null
for f in bin/nacoscrypt share/man/man1/nacoscrypt.1 share/man/man1/nacoscrypt-config-encrypt.1 \
         share/bash-completion/completions/nacoscrypt share/zsh/site-functions/_nacoscrypt \
         share/fish/vendor_completions.d/nacoscrypt.fish; do
  [ -s "$cli_prefix/$f" ] || { echo "make install-cli did not install $f" >&2; exit 1; }
done
# Each shell parses its own script (zsh and fish come from Debian when missing).
if ! command -v zsh >/dev/null || ! command -v fish >/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq zsh fish >/dev/null
fi
bash -n "$cli_prefix/share/bash-completion/completions/nacoscrypt"
zsh -n "$cli_prefix/share/zsh/site-functions/_nacoscrypt"
fish --no-execute "$cli_prefix/share/fish/vendor_completions.d/nacoscrypt.fish"
echo "   completions parse in bash, zsh $(zsh --version | cut -d' ' -f2) and fish $(fish --version | awk '{print $NF}')"
make --no-print-directory uninstall-cli PREFIX="$cli_prefix" >/dev/null
[ -z "$(find "$cli_prefix" -type f)" ] || { echo "make uninstall-cli left files" >&2; exit 1; }
rm -rf "$cli_prefix"

section "The Alibaba Cloud KMS test server against the official SDKs (pytest)"
"$NACOSCRYPT_ALIYUN_PY" -m pytest kms/aliyun/tests/test_server_official_sdk.py -q -p no:cacheprovider

section "The KMS instance API test server against the official dkms-gcs and transfer SDKs (pytest)"
"$NACOSCRYPT_ALIYUN_INSTANCE_PY" -m pytest kms/aliyun/tests/test_instance_server_official_sdk.py -q -p no:cacheprovider

section "Rust core with the pure-Rust AES-GCM backend (no aws-lc)"
cargo test --locked -p nacoscrypt-core --no-default-features --features std,getrandom,pure-rust

section "Rust core without default features (no_std build, caller-supplied RNG)"
cargo test --locked -p nacoscrypt-core --no-default-features --features pure-rust --lib --tests

for part in ffi python; do
  if [ -f "scripts/test-$part.sh" ]; then
    section "$part"
    bash "scripts/test-$part.sh"
  fi
done
section "SDK adapters in workspaces of their own (adapters/nacos-sdk-rust: tests, clippy, fmt)"
bash scripts/test-adapters.sh

section "all tests passed"
