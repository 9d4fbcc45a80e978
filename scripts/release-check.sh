#!/usr/bin/env bash
# What a release needs from the Rust crates, checked before one is cut:
# - `cargo publish --dry-run` of every publishable crate (the core and the kms/ crates): each is
#   packaged and built alone from its tarball, against the others as packaged (so a crate that
#   only builds thanks to the workspace's feature unification fails here);
# - the MSRV written in Cargo.toml (`rust-version`) builds those crates, with their tests.
# The applications (cli, ffi, python, benches) are `publish = false`.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

publishable=(nacoscrypt-osrng nacoscrypt-core nacoscrypt-kms-common nacoscrypt-kms-aliyun nacoscrypt-kms-aws nacoscrypt-kms-pkcs11)

echo "== cargo publish --dry-run (${publishable[*]})"
pkgs=()
for p in "${publishable[@]}"; do pkgs+=(-p "$p"); done
cargo publish --dry-run --locked --allow-dirty "${pkgs[@]}" 2>&1 | grep -Ev '^\s+(Compiling|Downloaded|Downloading|Unpacking)' 

msrv=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)
[ -n "$msrv" ] || { echo "Cargo.toml states no rust-version" >&2; exit 1; }
echo "== MSRV $msrv: cargo +$msrv check of the publishable crates (what their users build)"
rustup toolchain install "$msrv" --profile minimal >/dev/null 2>&1 \
  || rustup toolchain install "$msrv" --profile minimal
cargo "+$msrv" check --locked "${pkgs[@]}"
echo "== release checks passed in $(( $(date +%s) - start )) s"
