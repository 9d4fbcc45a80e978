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

# Release checks, as scripts/release-check.sh does for the main workspace's crates.
msrv=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' Cargo.toml)
step "nacos-sdk-rust: cargo +$msrv check --all-targets (the MSRV it states)"
rustup toolchain install "$msrv" --profile minimal >/dev/null 2>&1 \
  || rustup toolchain install "$msrv" --profile minimal
CARGO_TARGET_DIR="$CARGO_TARGET_DIR/msrv" cargo "+$msrv" check --locked --all-targets

# `cargo publish --dry-run` packages the crate and builds it alone from its tarball. Its
# dependency nacoscrypt-core is not on crates.io yet, so the adapter is packaged together with
# the core and osrng in a throwaway workspace (the root's [workspace] with these three members),
# where cargo publishes several crates as one set, each against the others as packaged.
step "nacos-sdk-rust: cargo publish --dry-run (with nacoscrypt-osrng and nacoscrypt-core)"
root=$(cd ../.. && pwd)
release=$(mktemp -d)
trap 'rm -rf "$release"' EXIT
cp -r "$root/core" "$root/osrng" "$release/"
mkdir -p "$release/adapters"
cp -r "$root/adapters/nacos-sdk-rust" "$release/adapters/"
rm -rf "$release/adapters/nacos-sdk-rust/target"
# The adapter's own [workspace] table and profiles go (a member has neither); its lock file
# becomes the set's, so the dependencies resolve as in the adapter's own builds.
python3 - "$root/Cargo.toml" "$release" <<'PY'
import re, sys, pathlib
root_toml, out = pathlib.Path(sys.argv[1]).read_text(), pathlib.Path(sys.argv[2])
root_toml = re.sub(r'(?m)^members = .*$', 'members = ["osrng", "core", "adapters/nacos-sdk-rust"]', root_toml)
root_toml = re.sub(r'(?m)^(default-members|exclude) = .*\n', '', root_toml)
adapter = out / "adapters/nacos-sdk-rust/Cargo.toml"
text = adapter.read_text()
text = re.sub(r'(?ms)^# Its own workspace:.*?^\[workspace\]\n', '', text)
# The adapter's test profiles replace the root's, so its target directory's builds are reused.
profiles = re.search(r'(?ms)^(# Tests run AES[^\n]*\n)?\[profile\..*', text)
text = text[:profiles.start()]
root_toml = re.sub(r'(?ms)^(# Tests run the AES[^\n]*\n(#[^\n]*\n)*)?\[profile\.(dev|test)\.package[^\n]*\n[^\[]*', '', root_toml)
assert '[workspace]' not in text and '[profile' not in text, "adapter manifest not as expected"
assert 'package."*"' not in root_toml, "root manifest not as expected"
(out / "Cargo.toml").write_text(root_toml + "\n" + profiles.group(0))
adapter.write_text(text)
PY
mv "$release/adapters/nacos-sdk-rust/Cargo.lock" "$release/Cargo.lock"
(cd "$release" && cargo publish --dry-run --allow-dirty \
   -p nacoscrypt-osrng -p nacoscrypt-core -p nacoscrypt-nacos-sdk 2>&1 |
   grep -Ev '^\s+(Compiling|Downloaded|Downloading|Unpacking|Checking)')
step "adapters passed"
