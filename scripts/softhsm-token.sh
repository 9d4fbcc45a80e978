#!/usr/bin/env bash
# Makes a SoftHSM2 token for a test, in its own folder:
#     eval "$(bash scripts/softhsm-token.sh DIR TOKEN_LABEL USER_PIN KEY_LABEL...)"
# writes DIR/softhsm2.conf (tokens in DIR/tokens), initialises the token TOKEN_LABEL with
# softhsm2-util --init-token, generates one AES-256 key per KEY_LABEL inside the token with
# pkcs11-tool --keygen (sensitive, never extractable), and prints the two assignments to eval:
# SOFTHSM2_CONF and NACOSCRYPT_PKCS11_MODULE. Needs scripts/softhsm-test-env.sh first.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 DIR TOKEN_LABEL USER_PIN [KEY_LABEL...]" >&2; exit 2; }
dir=$1 token=$2 pin=$3
shift 3
module=$(bash "$(dirname "$0")/softhsm-test-env.sh" | tail -n 1)
mkdir -p "$dir/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = true\n' \
    "$dir/tokens" > "$dir/softhsm2.conf"
export SOFTHSM2_CONF="$dir/softhsm2.conf"
# The PINs go through argv of these two tools only in tests, with throw-away tokens.
softhsm2-util --init-token --free --label "$token" --so-pin "so-$pin" --pin "$pin" >&2
for key in "$@"; do
    pkcs11-tool --module "$module" --token-label "$token" --login --pin "$pin" \
        --keygen --key-type AES:32 --label "$key" --sensitive >/dev/null 2>&1 ||
        { echo "pkcs11-tool --keygen $key failed" >&2; exit 1; }
done
printf 'export SOFTHSM2_CONF=%q\nexport NACOSCRYPT_PKCS11_MODULE=%q\n' "$SOFTHSM2_CONF" "$module"
