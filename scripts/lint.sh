#!/usr/bin/env bash
# Formatting, clippy on every target, and the no_std build of the core.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup component add rustfmt clippy >/dev/null 2>&1 || true
rustup target add thumbv7em-none-eabihf >/dev/null 2>&1
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== builds that leave key services out (cargo features; clippy, warnings are errors)"
# Each front end without key services and with each one alone (the library targets only, so
# that every build stays a `cargo check` of one crate over already-checked dependencies).
cargo clippy --locked -p nacoscrypt-ffi --no-default-features -- -D warnings
for feature in aliyun aws pkcs11; do
  cargo clippy --locked -p nacoscrypt-ffi --no-default-features --features "$feature" -- -D warnings
done
cargo clippy --locked -p nacoscrypt-cli --no-default-features -- -D warnings
for feature in aws pkcs11; do   # Alibaba Cloud KMS is always in the command
  cargo clippy --locked -p nacoscrypt-cli --no-default-features --features "$feature" -- -D warnings
done
cargo clippy --locked -p nacoscrypt-python --no-default-features -- -D warnings
for feature in aliyun aws pkcs11; do
  cargo clippy --locked -p nacoscrypt-python --no-default-features --features "$feature" -- -D warnings
done
echo "== no_std build (thumbv7em-none-eabihf)"
cargo build --locked -p nacoscrypt-core --no-default-features --features pure-rust --target thumbv7em-none-eabihf
echo "== rustdoc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --locked -p nacoscrypt-osrng -p nacoscrypt-core -p nacoscrypt-kms-common \
  -p nacoscrypt-kms-aliyun -p nacoscrypt-kms-aws -p nacoscrypt-kms-pkcs11 --no-deps
