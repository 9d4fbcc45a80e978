#!/usr/bin/env bash
# SoftHSM2, the PKCS#11 module the kms/pkcs11 tests (Rust, C, Python) run against, and OpenSC's
# pkcs11-tool, which the C and Python tests use to generate keys inside their tokens.
#
# Idempotent: installs Debian's `softhsm2` and `opensc` when missing (apt-get, as root or
# with sudo), and prints the module's path as the LAST line of stdout, so callers do
#     NACOSCRYPT_PKCS11_MODULE=$(bash scripts/softhsm-test-env.sh | tail -n 1)
# The tests make their own tokens in temporary folders (SOFTHSM2_CONF): nothing here touches
# the machine's /etc/softhsm or /var/lib/softhsm.
set -euo pipefail

find_module() {
    for m in /usr/lib/softhsm/libsofthsm2.so \
             /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
             /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so \
             /usr/local/lib/softhsm/libsofthsm2.so; do
        if [ -f "$m" ]; then
            echo "$m"
            return 0
        fi
    done
    return 1
}

if ! find_module >/dev/null || ! command -v softhsm2-util >/dev/null || ! command -v pkcs11-tool >/dev/null; then
    echo "installing softhsm2 and opensc (Debian packages)" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq softhsm2 opensc >&2
fi
find_module || { echo "softhsm2 is installed but libsofthsm2.so was not found" >&2; exit 1; }
