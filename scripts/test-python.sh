#!/usr/bin/env bash
# The Python bindings, as CI checks them: build the abi3 wheel as it is published (maturin from
# PyPI, a release build), check it and install it, then pytest, mypy.stubtest (the stubs match
# the module) and mypy --strict on the tests.
#
# Needs python3 with pip (and the Rust toolchain); everything else goes into a virtual
# environment under build/ (git-ignored), so it is safe on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

venv=build/venv-py
if [ ! -x "$venv/bin/python" ]; then
  echo "== creating $venv"
  python3 -m venv "$venv"
fi
py="$venv/bin/python"

echo "== test tools"
"$py" -m pip install --quiet --disable-pip-version-check \
  "maturin>=1.9,<2" pytest pyjwt cryptography mypy "abi3audit==0.0.26" pyyaml types-PyYAML \
  "nacos-sdk-python==3.2.0; python_version >= '3.10'"  # for nacoscrypt.nacos_sdk's tests

# The wheel as it is published: `maturin build --release` (abi3, manylinux), checked for its tags
# and, by abi3audit, for using nothing outside the stable ABI of CPython 3.9; then installed into
# a fresh venv (import and a round trip) and into the test venv.
echo "== maturin build --release (the abi3 wheel)"
t=$(date +%s)
rm -rf build/wheels
"$venv/bin/maturin" build --release --locked -m python/Cargo.toml --out build/wheels
wheel=$(ls build/wheels/nacoscrypt-*.whl)
echo "   built $(basename "$wheel") in $(( $(date +%s) - t )) s"
case "$(basename "$wheel")" in
  nacoscrypt-*-cp39-abi3-manylinux_*_x86_64*.whl | nacoscrypt-*-cp39-abi3-manylinux_*_aarch64*.whl) ;;
  *) echo "the wheel is not a cp39-abi3 manylinux wheel: $wheel" >&2; exit 1 ;;
esac
"$py" -m abi3audit --strict --assume-minimum-abi3 3.9 "$wheel"
# The published wheel must hold the package: the stubs, py.typed and the pure-Python modules.
"$py" - "$wheel" <<'PY'
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
need = {"nacoscrypt/__init__.py", "nacoscrypt/_native.pyi", "nacoscrypt/py.typed",
        "nacoscrypt/nacos_sdk.py", "nacoscrypt/_kms_protocol.py"}
missing = need - names
if missing or not any(n.startswith("nacoscrypt/_native") and n.endswith(".so") for n in names):
    sys.exit(f"the wheel lacks {sorted(missing) or 'the extension module'}")
PY
fresh=$(mktemp -d)
python3 -m venv "$fresh/venv"
"$fresh/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$wheel"
(cd "$fresh" && "$fresh/venv/bin/python" - <<'PY'
import sys, tempfile, os, nacoscrypt
kms = nacoscrypt.LocalKms.create(os.path.join(tempfile.mkdtemp(), "keyring"), "alias/app")
stored = nacoscrypt.encrypt_config(kms, data_id="cipher-kms-aes-256-a", group="G", content="x=1",
                                   key_id="alias/app")
assert nacoscrypt.decrypt_config(kms, data_id="cipher-kms-aes-256-a", group="G",
                                 content=stored.content,
                                 encrypted_data_key=stored.encrypted_data_key) == "x=1"
print(f"   the wheel works in a fresh venv on Python {sys.version.split()[0]}")
PY
)
rm -rf "$fresh"

# The same wheel on other CPythons than the one that built it (issue 20): the oldest it claims
# (3.9, its abi3 floor) and the newest this machine has, each in a fresh venv, running the vector
# and error suites. The interpreters come from pyenv (or PATH); one that is missing is reported
# as NOT CHECKED, never passed, and fails the run in CI (CI=true), whose machines have both.
other_python() {  # $1: a version prefix such as 3.9, or "newest"; prints a python or nothing
  local root cands
  root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
  if [ "$1" = newest ]; then
    cands=$(ls -d "$root"/versions/3.* 2>/dev/null | grep -E '/3\.[0-9]+\.[0-9]+$' | sort -V | tail -n 1)
    [ -n "$cands" ] && [ -x "$cands/bin/python3" ] && echo "$cands/bin/python3"
    return 0
  fi
  cands=$(ls -d "$root"/versions/"$1".* 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$cands" ] && [ -x "$cands/bin/python3" ]; then echo "$cands/bin/python3"
  elif command -v "python$1" >/dev/null; then command -v "python$1"; fi
}
built_on=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
checked=""
for want in 3.9 newest; do
  other=$(other_python "$want")
  if [ -z "$other" ]; then
    echo "   NOT CHECKED: no CPython $want on this machine (pyenv or PATH)" >&2
    # CI's machines carry pyenv's interpreters: there, a missing one is a failure, not a pass.
    if [ "${CI:-}" = true ]; then echo "CI must check the wheel on CPython $want" >&2; exit 1; fi
    continue
  fi
  version=$("$other" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  case " $checked $built_on " in *" $version "*) continue ;; esac
  checked="$checked $version"
  fresh=$(mktemp -d)
  "$other" -m venv "$fresh/venv"
  "$fresh/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$wheel" pytest cryptography
  (cd "$fresh" && "$fresh/venv/bin/python" -m pytest -q -p no:cacheprovider \
      "$OLDPWD/python/tests/test_vectors.py" "$OLDPWD/python/tests/test_errors.py" \
      "$OLDPWD/python/tests/test_tokens.py" >"$fresh/log" 2>&1) ||
    { cat "$fresh/log" >&2; echo "the wheel fails on Python $version" >&2; exit 1; }
  echo "   the wheel built on $built_on passes the vector suites on Python $version: $(tail -n 1 "$fresh/log")"
  rm -rf "$fresh"
done
"$py" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$wheel"

# The loopback Alibaba Cloud KMS test server for test_aliyun.py (stopped when this script exits).
source scripts/aliyun-server.sh
aliyun_server_start
trap aliyun_server_stop EXIT
export NACOSCRYPT_REQUIRE_SERVERS=1
# test_aws.py starts the AWS test server (moto + boto3) with $NACOSCRYPT_AWS_PY; test_pkcs11.py
# makes SoftHSM2 tokens with scripts/softhsm-token.sh. scripts/test-all.sh exports both; run
# standalone, this script finds (or installs) them itself.
if [ -z "${NACOSCRYPT_AWS_PY:-}" ]; then
  NACOSCRYPT_AWS_PY=$(bash scripts/aws-test-env.sh | tail -n 1)
fi
if [ -z "${NACOSCRYPT_PKCS11_MODULE:-}" ]; then
  NACOSCRYPT_PKCS11_MODULE=$(bash scripts/softhsm-test-env.sh | tail -n 1)
fi
export NACOSCRYPT_AWS_PY NACOSCRYPT_PKCS11_MODULE

# From the repository root (no nacoscrypt/ folder here): the tests import the installed package.
echo "== pytest"
"$py" -m pytest python/tests -q -p no:cacheprovider

echo "== mypy.stubtest nacoscrypt"
"$py" -m mypy.stubtest nacoscrypt

echo "== mypy --strict python/tests"
"$py" -m mypy --strict --cache-dir build/mypy-cache python/tests

echo "== keyring soak: 8 threads while another process rotates (${NACOSCRYPT_SOAK_SECONDS:-20} s)"
soak_dir=$(mktemp -d)
"$py" python/tests/soak_keyring.py "${NACOSCRYPT_SOAK_SECONDS:-20}" "$soak_dir"
rm -rf "$soak_dir"

echo "== Python bindings checked in $(( $(date +%s) - start )) s"
