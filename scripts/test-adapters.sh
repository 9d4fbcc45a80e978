#!/usr/bin/env bash
# The SDK adapters that live in workspaces of their own (issue 20): adapters/nacos-sdk-rust, the
# ConfigFilter for the Rust Nacos client `nacos-sdk`. Its dependency tree (tokio, tonic, prost,
# reqwest) stays out of the main workspace, so it is built and tested here: tests (unit,
# integration, doc), clippy on every target with warnings as errors, rustfmt, rustdoc.
#
# Needs only rustup/cargo and a C compiler (AWS-LC, as for the core). No protoc: nacos-sdk ships
# its generated gRPC code (src/_.rs) and has no build script. Its own target directory by
# default (NACOSCRYPT_ADAPTERS_TARGET_DIR overrides it; CARGO_TARGET_DIR is not used, since the
# main workspace's would only mix two lock files' builds).
set -euo pipefail
cd "$(dirname "$0")/.."
START=$SECONDS
step() { echo "== $* ($((SECONDS - START))s)"; }

rustup component add rustfmt clippy >/dev/null 2>&1 || true
export CARGO_TARGET_DIR="${NACOSCRYPT_ADAPTERS_TARGET_DIR:-$PWD/adapters/nacos-sdk-rust/target}"
cd adapters/nacos-sdk-rust

step "nacos-sdk-rust: cargo fmt --check"
cargo fmt --check
step "nacos-sdk-rust: cargo test --locked"
cargo test --locked
step "nacos-sdk-rust: cargo clippy --locked --all-targets -- -D warnings"
cargo clippy --locked --all-targets -- -D warnings
step "nacos-sdk-rust: rustdoc (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --locked --no-deps
step "adapters passed"
