//! Linker settings of the C library.
//!
//! `libnacoscrypt.so` carries the soname `libnacoscrypt.so.<ABI>`: programs record that name, so
//! a later library with the same ABI number replaces it in place, and an ABI break (a new number)
//! installs beside it. The number is [`ABI_VERSION`]; `make install` creates the
//! `libnacoscrypt.so.<ABI>` and `libnacoscrypt.so` symbolic links, and CI checks the header
//! against the last release's (ffi/abi/) so that the number only has to change on purpose.

// Cargo reads its instructions from the build script's standard output.
#![allow(clippy::print_stdout)]

/// The ABI number in the soname: bumped only when a release breaks the C ABI.
const ABI_VERSION: u32 = 0;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if matches!(
        os.as_str(),
        "linux" | "android" | "freebsd" | "netbsd" | "openbsd"
    ) {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libnacoscrypt.so.{ABI_VERSION}");
    }
}
