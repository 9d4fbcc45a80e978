#!/usr/bin/env bash
# The C ABI end to end (issue 4): the committed header is what the pinned cbindgen generates;
# the C99 suite against the shared and the static library, the threaded test and the C++17 test,
# all under AddressSanitizer + UBSan with leak detection; `make install` into a temporary
# prefix and the README example built with pkg-config.
#
# Needs only rustup/cargo, gcc/g++, python3 and make; installs cbindgen (pinned) and
# pkg-config when missing. Honours CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
CBINDGEN_VERSION=0.29.4
START=$SECONDS

step() { echo "== $* ($((SECONDS - START))s)"; }

# ---- tools -------------------------------------------------------------------------------
if [ "$(cbindgen --version 2>/dev/null || true)" != "cbindgen $CBINDGEN_VERSION" ]; then
    step "installing cbindgen $CBINDGEN_VERSION"
    cargo install cbindgen --version "$CBINDGEN_VERSION" --locked
fi
missing=()
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
if [ ${#missing[@]} -gt 0 ]; then
    step "installing ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
for tool in gcc g++ python3 make; do
    command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done

TARGET_DIR=${CARGO_TARGET_DIR:-$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')}
WORK=$(mktemp -d)
PREFIX=$(mktemp -d)
trap 'rm -rf "$WORK" "$PREFIX"' EXIT

# ---- the header ---------------------------------------------------------------------------
step "include/nacoscrypt.h is current (cbindgen $CBINDGEN_VERSION)"
cbindgen -q --config ffi/cbindgen.toml --crate nacoscrypt-ffi --output "$WORK/nacoscrypt.h" ffi
if ! diff -u include/nacoscrypt.h "$WORK/nacoscrypt.h"; then
    echo "include/nacoscrypt.h differs from the generated header; regenerate it with:" >&2
    echo "  cbindgen --config ffi/cbindgen.toml --crate nacoscrypt-ffi --output include/nacoscrypt.h ffi" >&2
    exit 1
fi
step "the header compiles alone as C99, C11 and C++17"
printf '#include "nacoscrypt.h"\nint main(void) { return nacoscrypt_version() == 0; }\n' > "$WORK/h.c"
cp "$WORK/h.c" "$WORK/h.cpp"
gcc -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude -c "$WORK/h.c" -o "$WORK/h.o"
gcc -std=c99 -Wall -Wextra -Werror -pedantic -DNACOSCRYPT_TESTING -Iinclude -c "$WORK/h.c" -o "$WORK/h.o"
gcc -std=c11 -Wall -Wextra -Werror -pedantic -Iinclude -c "$WORK/h.c" -o "$WORK/h.o"
g++ -std=c++17 -Wall -Wextra -Werror -pedantic -Iinclude -c "$WORK/h.cpp" -o "$WORK/h.o"

# The ABI promise: what the last release's header (ffi/abi/) declared still holds (no
# renumbered result, no changed struct or prototype, no removed function), checked by the
# compiler; the checker itself must catch each kind of break.
step "the C ABI of the last release (ffi/abi/nacoscrypt-*.h) is kept"
ABI_BASELINE=$(ls ffi/abi/nacoscrypt-*.h | sort -V | tail -n 1)
python3 ffi/abi/check_abi.py --self-test include/nacoscrypt.h
python3 ffi/abi/check_abi.py "$ABI_BASELINE" include/nacoscrypt.h

# ---- the library under test ---------------------------------------------------------------
# A debug build with the `testing` feature (nacoscrypt_test_panic, the live-object count);
# the installed library below is the release build without it.
step "building libnacoscrypt (debug, feature testing)"
cargo build --locked -p nacoscrypt-ffi --features testing
LIB="$TARGET_DIR/debug"
# Programs record the soname (ffi/build.rs); Cargo makes only libnacoscrypt.so.
ABI=$(sed -n 's/^const ABI_VERSION: u32 = \([0-9]*\);/\1/p' ffi/build.rs)
ln -sfn libnacoscrypt.so "$LIB/libnacoscrypt.so.$ABI"
python3 ffi/tests/c/gen_vectors.py core/tests/vectors "$WORK/vectors.h"
# The server plugin's configs (aes, doubleAes) of the doctor/migrate corpus test, made fresh on
# every run by Python `cryptography`, the independent oracle of the plugin's format, from the
# Alibaba Cloud tests' environment (which has it).
PLUGIN_PY=${NACOSCRYPT_ALIYUN_PY:-$(bash scripts/aliyun-test-env.sh | tail -n 1)}
"$PLUGIN_PY" ffi/tests/c/gen_plugin_corpus.py "$WORK/plugin_corpus.h"

CFLAGS=(-std=c99 -Wall -Wextra -Werror -pedantic -g -O1 -fno-omit-frame-pointer
    -Iinclude -Iffi/tests/c -I"$WORK" -DNACOSCRYPT_TESTING)
SAN=(-fsanitize=address,undefined -fno-sanitize-recover=undefined)
SHARED=(-L"$LIB" -lnacoscrypt -Wl,-rpath,"$LIB")
STATIC=("$LIB/libnacoscrypt.a" -lpthread -ldl -lm)
VERSION=$(cargo pkgid -p nacoscrypt-ffi | sed 's/.*[#@]//')
export ASAN_OPTIONS=detect_leaks=1:halt_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export RUST_BACKTRACE=0 # the forced panic of the suite prints one line, not a backtrace

step "C suite, shared library, ASan+UBSan"
gcc "${CFLAGS[@]}" "${SAN[@]}" -DSUITE_NAME='"ffi-c-shared"' -DEXPECTED_VERSION="\"$VERSION\"" \
    ffi/tests/c/test_main.c -o "$WORK/test_shared" "${SHARED[@]}"
"$WORK/test_shared"

step "C suite, static library, ASan+UBSan"
gcc "${CFLAGS[@]}" "${SAN[@]}" -DSUITE_NAME='"ffi-c-static"' \
    ffi/tests/c/test_main.c -o "$WORK/test_static" "${STATIC[@]}"
"$WORK/test_static"

step "C suite, static library, no sanitizer, -O2"
gcc "${CFLAGS[@]}" -O2 -DSUITE_NAME='"ffi-c-static-O2"' \
    ffi/tests/c/test_main.c -o "$WORK/test_static_o2" "${STATIC[@]}"
"$WORK/test_static_o2"

step "C hostile-input suite (issue 12), shared library, ASan+UBSan"
gcc "${CFLAGS[@]}" "${SAN[@]}" ffi/tests/c/test_hostile.c -o "$WORK/test_hostile" "${SHARED[@]}"
"$WORK/test_hostile"

step "C++17 test, ASan+UBSan"
g++ -std=c++17 -Wall -Wextra -Werror -pedantic -g -Iinclude "${SAN[@]}" \
    ffi/tests/c/test_cpp.cpp -o "$WORK/test_cpp" "${SHARED[@]}"
"$WORK/test_cpp"

step "threaded test: 8 threads x 20,000 iterations, ASan+UBSan"
gcc "${CFLAGS[@]}" "${SAN[@]}" -pthread ffi/tests/c/test_threads.c -o "$WORK/test_threads" \
    "${SHARED[@]}"
"$WORK/test_threads"

step "token keeper (16 threads, one login), revocation, identity rotation, audit (issue 17), ASan+UBSan"
gcc "${CFLAGS[@]}" "${SAN[@]}" -pthread ffi/tests/c/test_production.c -o "$WORK/test_production" \
    "${SHARED[@]}"
"$WORK/test_production"

step "Alibaba Cloud KMS against the loopback test KMS (nacos-sdk-python's configs), ASan+UBSan"
source scripts/aliyun-server.sh
aliyun_server_start
trap 'aliyun_server_stop; rm -rf "$WORK" "$PREFIX"' EXIT
ALIYUN_KMS=$(aliyun_field kms)
"$ALIYUN_PY" - "$ALIYUN_SERVER_JSON" "$WORK/aliyun-fixtures.tsv" <<'PY'
import json, subprocess, sys
server, out = json.loads(sys.argv[1]), sys.argv[2]
lines = []
for data_id in ["cipher-kms-aes-256-db.properties", "cipher-kms-aes-128-app.yaml", "cipher-token.json"]:
    plain = "spring.datasource.password=s3cret&x<y> " + data_id
    req = {"endpoint": server["kms"], "ca": server["ca"], "access_key_id": "LTAI5tTestAccessKeyId",
           "access_key_secret": "TestAccessKeySecret0123456789abc", "key_id": "alias/acs/mse",
           "data_id": data_id, "content": plain}
    r = json.loads(subprocess.run([sys.executable, "kms/aliyun/tests/server/oracle.py", "nacos_encrypt"],
                                  input=json.dumps(req), capture_output=True, text=True, check=True).stdout)
    lines.append("\t".join([data_id, r["content"], r["encrypted_data_key"], plain]))
open(out, "w").write("\n".join(lines) + "\n")
PY
gcc "${CFLAGS[@]}" "${SAN[@]}" ffi/tests/c/test_aliyun.c -o "$WORK/test_aliyun" "${SHARED[@]}"
"$WORK/test_aliyun" "$ALIYUN_KMS" "$(aliyun_field ca)" "$(aliyun_field other_ca)" "$WORK/aliyun-fixtures.tsv"

step "a KMS 3.0 instance (ClientKey) against the loopback instance server, ASan+UBSan"
gcc "${CFLAGS[@]}" "${SAN[@]}" ffi/tests/c/test_aliyun_instance.c -o "$WORK/test_aliyun_instance" "${SHARED[@]}"
inst() { aliyun_field "$1" "$ALIYUN_INSTANCE_JSON"; }
"$WORK/test_aliyun_instance" "$(inst instance)" "$(inst ca)" "$(inst client_key_good)" \
    "$(inst client_key_good_password)" "$(inst client_key_expired)" "$(inst client_key_expired_password)"

step "AWS KMS against the moto test server (SigV4 checked by botocore), boto3's data keys, ASan+UBSan"
# The Python with moto and boto3: $NACOSCRYPT_AWS_PY (scripts/test-all.sh exports it), else
# build/venv-aws made by scripts/aws-test-env.sh. The server exits when its stdin closes.
AWS_PY=${NACOSCRYPT_AWS_PY:-$(bash scripts/aws-test-env.sh | tail -n 1)}
mkdir -p "$WORK/aws-server"
mkfifo "$WORK/aws-server/stdin"
"$AWS_PY" kms/aws/tests/server/aws_test_server.py --dir "$WORK/aws-server" \
    < "$WORK/aws-server/stdin" > "$WORK/aws-server/ready.json" 2> "$WORK/aws-server/server.log" &
AWS_SERVER_PID=$!
exec {aws_fd}> "$WORK/aws-server/stdin"
trap 'kill "$AWS_SERVER_PID" 2>/dev/null || true; aliyun_server_stop; rm -rf "$WORK" "$PREFIX"' EXIT
for _ in $(seq 300); do [ -s "$WORK/aws-server/ready.json" ] && break; sleep 0.1; done
[ -s "$WORK/aws-server/ready.json" ] ||
    { cat "$WORK/aws-server/server.log" >&2; echo "the AWS test server did not start" >&2; exit 1; }
AWS_SERVER_JSON=$(head -n 1 "$WORK/aws-server/ready.json")
aws_field() { aliyun_field "$1" "$AWS_SERVER_JSON"; }
"$AWS_PY" - "$AWS_SERVER_JSON" "$WORK/aws-fixtures.tsv" <<'PY'
import base64, json, subprocess, sys
server, out = json.loads(sys.argv[1]), sys.argv[2]
lines = []
for context in [None, {"dataId": "cipher-kms-aes-256-db.properties", "group": "DEFAULT_GROUP",
                       "tenant": "prod"}]:
    req = {"endpoint": server["kms"], "ca": server["ca"], "key_id": "alias/nacos", "spec": "AES_256"}
    if context:
        req["context"] = context
    r = json.loads(subprocess.run([sys.executable, "kms/aws/tests/server/aws_oracle.py", "generate_data_key"],
                                  input=json.dumps(req), capture_output=True, text=True, check=True).stdout)
    fields = [r["blob_b64"], base64.b64decode(r["plaintext_b64"]).hex()] + (["context"] if context else [])
    lines.append("\t".join(fields))
open(out, "w").write("\n".join(lines) + "\n")
PY
gcc "${CFLAGS[@]}" "${SAN[@]}" ffi/tests/c/test_aws.c -o "$WORK/test_aws" "${SHARED[@]}"
mkdir -p "$WORK/aws-run"
(cd "$WORK/aws-run" && env -u AWS_PROFILE -u AWS_REGION -u AWS_DEFAULT_REGION -u AWS_ENDPOINT_URL \
    -u AWS_ENDPOINT_URL_KMS -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
    -u AWS_ROLE_ARN -u AWS_WEB_IDENTITY_TOKEN_FILE -u AWS_CONTAINER_CREDENTIALS_FULL_URI \
    -u AWS_CONTAINER_CREDENTIALS_RELATIVE_URI HOME="$WORK/aws-run" \
    "$WORK/test_aws" "$(aws_field kms)" "$(aws_field ca)" "$(aws_field access_key_id)" "$(aws_field secret)" "$WORK/aws-fixtures.tsv")
exec {aws_fd}>&-
wait "$AWS_SERVER_PID" 2>/dev/null || true

step "PKCS#11: a SoftHSM2 token (scripts/softhsm-token.sh), 8 threads, rotation, wrong PIN, the token removed mid-run, ASan+UBSan"
eval "$(bash scripts/softhsm-token.sh "$WORK/softhsm" ffi-test 1234-ffi c-2025 c-2026)"
printf '1234-ffi\n' > "$WORK/softhsm/pin"
gcc "${CFLAGS[@]}" "${SAN[@]}" -pthread ffi/tests/c/test_pkcs11.c -o "$WORK/test_pkcs11" "${SHARED[@]}"
(cd "$WORK" && "$WORK/test_pkcs11" "$NACOSCRYPT_PKCS11_MODULE" ffi-test "$WORK/softhsm/pin" c-2025 c-2026)

# ---- install + pkg-config + the README example --------------------------------------------
step "make install PREFIX=$PREFIX (release build)"
make --no-print-directory install PREFIX="$PREFIX"
for f in lib/libnacoscrypt.so "lib/libnacoscrypt.so.$ABI" "lib/libnacoscrypt.so.$VERSION" \
         lib/libnacoscrypt.a include/nacoscrypt.h lib/pkgconfig/nacoscrypt.pc \
         lib/cmake/nacoscrypt/nacoscrypt-config.cmake lib/cmake/nacoscrypt/nacoscrypt-config-version.cmake; do
    [ -f "$PREFIX/$f" ] || { echo "not installed: $f" >&2; exit 1; }
done
[ "$(readlink "$PREFIX/lib/libnacoscrypt.so")" = "libnacoscrypt.so.$ABI" ]
[ "$(readlink "$PREFIX/lib/libnacoscrypt.so.$ABI")" = "libnacoscrypt.so.$VERSION" ]
readelf -d "$PREFIX/lib/libnacoscrypt.so.$VERSION" | grep -q "Library soname: \[libnacoscrypt.so.$ABI\]" ||
    { echo "the installed library has no soname libnacoscrypt.so.$ABI" >&2; exit 1; }

step "the library exports exactly the functions of the header (nacoscrypt_*, no test-only ones)"
nm -D --defined-only "$PREFIX/lib/libnacoscrypt.so" | awk '{print $3}' | sort > "$WORK/exported.txt"
gcc -std=c99 -E -P -Iinclude "$WORK/h.c" | grep -o '\bnacoscrypt_[a-z0-9_]*[[:space:]]*(' |
    tr -d ' (' | sort -u > "$WORK/declared.txt"
if ! diff -u "$WORK/declared.txt" "$WORK/exported.txt"; then
    echo "libnacoscrypt.so exports other symbols than include/nacoscrypt.h declares (diff above)" >&2
    exit 1
fi
python3 ffi/abi/check_abi.py "$ABI_BASELINE" include/nacoscrypt.h --lib "$PREFIX/lib/libnacoscrypt.so"

step "the README example, built with pkg-config"
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
[ "$(pkg-config --modversion nacoscrypt)" = "$VERSION" ]
(cd ffi/examples && cc example.c $(pkg-config --cflags --libs nacoscrypt) -o "$WORK/example")
LD_LIBRARY_PATH="$PREFIX/lib" "$WORK/example"
readelf -d "$WORK/example" | grep -q "Shared library: \[libnacoscrypt.so.$ABI\]"
# The README's copy of the example is the file itself.
python3 - "$ROOT/ffi/README.md" "$ROOT/ffi/examples/example.c" <<'EOF'
import sys
readme, example = (open(p, encoding="utf-8").read() for p in sys.argv[1:])
if example.strip() not in readme:
    sys.exit("ffi/README.md does not contain ffi/examples/example.c verbatim")
EOF
# ... and linked statically against the installed archive.
cc ffi/examples/example.c $(pkg-config --cflags nacoscrypt) "$PREFIX/lib/libnacoscrypt.a" \
    -lpthread -ldl -lm -o "$WORK/example_static"
"$WORK/example_static" >/dev/null

step "the open API recipe (ffi/examples/open_api.c): login via the token keeper, publish, read, 403 re-login"
cc -std=c99 -Wall -Wextra -Werror -pedantic ffi/examples/open_api.c $(pkg-config --cflags --libs nacoscrypt) \
    -o "$WORK/open_api"
printf 'key alias/nacos 52f22665-a60c-42d2-a918-5d950ee88136 CRZvaxE9F41sD9OQH/I5oaCV8g+TlWUM+TgLjtsiSms=\n' \
    > "$WORK/open-api-keyring"
chmod 600 "$WORK/open-api-keyring"
mkfifo "$WORK/nacos-in"
python3 ffi/tests/c/nacos_open_api_server.py --rotate-secret-after-publish --refuse-containing s3cret \
    < "$WORK/nacos-in" > "$WORK/nacos-ready" 2> "$WORK/nacos.log" &
exec {nacos_fd}> "$WORK/nacos-in"   # the server exits when this closes
for _ in $(seq 100); do [ -s "$WORK/nacos-ready" ] && break; sleep 0.1; done
NACOS_PORT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$WORK/nacos-ready")
out=$(LD_LIBRARY_PATH="$PREFIX/lib" NACOS_PASSWORD=nacos-password \
    "$WORK/open_api" 127.0.0.1 "$NACOS_PORT" "$WORK/open-api-keyring" 2>&1)
echo "$out"
grep -q "read back 38 bytes; logins: 2" <<<"$out" || { echo "open_api.c did not log in again after the 403" >&2; exit 1; }
if LD_LIBRARY_PATH="$PREFIX/lib" NACOS_PASSWORD=wrong \
    "$WORK/open_api" 127.0.0.1 "$NACOS_PORT" "$WORK/open-api-keyring" 2> "$WORK/open-api-err"; then
    echo "open_api.c succeeded with a wrong password" >&2; exit 1
fi
grep -q "refused the login" "$WORK/open-api-err"
exec {nacos_fd}>&-

step "the README example, built with CMake (find_package(nacoscrypt), shared and static)"
mkdir -p "$WORK/cmake-app"
cat > "$WORK/cmake-app/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.16)
project(nacoscrypt_example C)
find_package(nacoscrypt 0.1 REQUIRED)
add_executable(example_shared "$ROOT/ffi/examples/example.c")
target_link_libraries(example_shared PRIVATE nacoscrypt::nacoscrypt)
add_executable(example_static "$ROOT/ffi/examples/example.c")
target_link_libraries(example_static PRIVATE nacoscrypt::nacoscrypt_static)
CMAKE
cmake -S "$WORK/cmake-app" -B "$WORK/cmake-build" -DCMAKE_PREFIX_PATH="$PREFIX" >/dev/null
cmake --build "$WORK/cmake-build" >/dev/null
"$WORK/cmake-build/example_shared" >/dev/null
"$WORK/cmake-build/example_static" >/dev/null
readelf -d "$WORK/cmake-build/example_shared" | grep -q "Shared library: \[libnacoscrypt.so.$ABI\]"
# A version the package does not satisfy is refused.
sed -i 's/find_package(nacoscrypt 0.1 REQUIRED)/find_package(nacoscrypt 0.2 REQUIRED)/' "$WORK/cmake-app/CMakeLists.txt"
if cmake -S "$WORK/cmake-app" -B "$WORK/cmake-build-2" -DCMAKE_PREFIX_PATH="$PREFIX" >/dev/null 2>&1; then
    echo "find_package(nacoscrypt 0.2) accepted version $VERSION" >&2
    exit 1
fi

step "keyring soak: 8 threads while another process rotates (${NACOSCRYPT_SOAK_SECONDS:-20} s, release library)"
# Against the installed release library without sanitizers, so that the resident set measures
# the library (ASan's quarantine would hide a leak or fake one).
cc -std=c99 -O2 -Wall -Wextra -Werror -pedantic -pthread ffi/tests/c/soak_keyring.c \
    $(pkg-config --cflags --libs nacoscrypt) -o "$WORK/soak_keyring"
mkdir -p "$WORK/soak"
LD_LIBRARY_PATH="$PREFIX/lib" "$WORK/soak_keyring" "${NACOSCRYPT_SOAK_SECONDS:-20}" "$WORK/soak"
make --no-print-directory uninstall PREFIX="$PREFIX"
[ -z "$(find "$PREFIX" -type f -o -type l)" ] || { echo "uninstall left files behind:" >&2; find "$PREFIX" >&2; exit 1; }

step "C ABI: all checks passed"
