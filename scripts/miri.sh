#!/usr/bin/env bash
# Miri (nightly) on the core's unit tests and its vector tests: undefined behaviour in our
# dependencies' unsafe code (SIMD base64, AES, GHASH fallbacks) on the paths we use.
# Without the default `aws-lc` feature: Miri cannot run C code, so the pure-Rust AES-GCM is used.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup toolchain list | grep -q nightly || rustup toolchain install nightly --profile minimal
rustup component add miri rust-src --toolchain nightly >/dev/null 2>&1
cargo +nightly miri setup >/dev/null 2>&1
MIRIFLAGS="${MIRIFLAGS:-} -Zmiri-disable-isolation" \
  cargo +nightly miri test --locked -p nacoscrypt-core --no-default-features --features std,getrandom,pure-rust --lib --test config_vectors --test token_vectors
