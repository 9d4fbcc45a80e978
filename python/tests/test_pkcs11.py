"""nacoscrypt.Pkcs11Kms against SoftHSM2: tokens made for this module in a temporary folder by
scripts/softhsm-token.sh (AES keys generated inside the token by pkcs11-tool, never extractable).

Needs softhsm2 and opensc (scripts/softhsm-test-env.sh installs them). Without them the module
is skipped, unless $NACOSCRYPT_REQUIRE_SERVERS is set: then it fails."""

from __future__ import annotations

import base64
import os
import shlex
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

from nacoscrypt import (
    DecryptionError,
    FileError,
    InvalidArgument,
    KmsError,
    LocalKms,
    NacosCryptError,
    Pkcs11Kms,
    decrypt_config,
    diagnose_config,
    encrypt_config,
    migrate_config,
)

ROOT = Path(__file__).resolve().parents[2]
REQUIRE = bool(os.environ.get("NACOSCRYPT_REQUIRE_SERVERS"))
TOKEN, PIN = "py-test", "1234-py"
WRONG_TOKEN, WRONG_TOKEN_PIN = "py-wrong", "5678-py"
REMOVAL_TOKEN, REMOVAL_KEY = "py-removal", "py-removal-key"
OLD_KEY, NEW_KEY = "py-2025", "py-2026"
DATA_IDS = ["cipher-kms-aes-256-db.properties", "cipher-kms-aes-128-app.yaml", "cipher-token.json"]
CONTENT = "spring.datasource.password=s3cret&<x>\n中文"


@pytest.fixture(scope="module")
def hsm() -> Iterator[Dict[str, str]]:
    """Three SoftHSM2 tokens in a temporary folder (one is deleted by a test); SOFTHSM2_CONF
    points at them for the module."""
    if not (shutil.which("softhsm2-util") and shutil.which("pkcs11-tool")):
        message = "softhsm2 / pkcs11-tool are not installed (run scripts/softhsm-test-env.sh)"
        if REQUIRE:
            pytest.fail(message)
        pytest.skip(message)
    with tempfile.TemporaryDirectory() as scratch:
        env: Dict[str, str] = {}
        for token, pin, keys in [(TOKEN, PIN, [OLD_KEY, NEW_KEY]), (WRONG_TOKEN, WRONG_TOKEN_PIN, []),
                                 (REMOVAL_TOKEN, PIN, [REMOVAL_KEY])]:
            made = subprocess.run(
                ["bash", str(ROOT / "scripts" / "softhsm-token.sh"), scratch, token, pin, *keys],
                capture_output=True, text=True,
            )
            if made.returncode != 0:
                message = f"softhsm-token.sh failed: {made.stderr.strip()}"
                if REQUIRE:
                    pytest.fail(message)
                pytest.skip(message)
            for line in made.stdout.splitlines():
                name, _, value = line.removeprefix("export ").partition("=")
                env[name] = shlex.split(value)[0]
        saved = os.environ.get("SOFTHSM2_CONF")
        # Read by SoftHSM2's C_Initialize, the first time this process loads the module.
        os.environ["SOFTHSM2_CONF"] = env["SOFTHSM2_CONF"]
        pin_file = Path(scratch) / "pin"
        pin_file.write_text(PIN + "\n")
        env["PIN_FILE"] = str(pin_file)
        # The module scripts/test-all.sh (or test-python.sh) found, if it says so.
        env["NACOSCRYPT_PKCS11_MODULE"] = os.environ.get(
            "NACOSCRYPT_PKCS11_MODULE", env["NACOSCRYPT_PKCS11_MODULE"]
        )
        env["DIR"] = scratch
        try:
            yield env
        finally:
            if saved is None:
                os.environ.pop("SOFTHSM2_CONF", None)
            else:
                os.environ["SOFTHSM2_CONF"] = saved


def open_kms(hsm: Dict[str, str], key_label: str | None = NEW_KEY) -> Pkcs11Kms:
    return Pkcs11Kms(module=hsm["NACOSCRYPT_PKCS11_MODULE"], token_label=TOKEN,
                     pin_file=hsm["PIN_FILE"], key_label=key_label)


@pytest.mark.parametrize("data_id", DATA_IDS)
@pytest.mark.parametrize("fmt", ["nacos", "v1"])
def test_round_trips(hsm: Dict[str, str], data_id: str, fmt: str) -> None:
    kms = open_kms(hsm)
    stored = encrypt_config(kms, data_id=data_id, group="G", tenant="t", content=CONTENT,
                            key_id="", format=fmt)  # type: ignore[arg-type]
    assert decrypt_config(kms, data_id=data_id, group="G", tenant="t", content=stored.content,
                          encrypted_data_key=stored.encrypted_data_key) == CONTENT
    # The blob (format 1) names the label of the key that made it.
    blob = stored.encrypted_data_key or stored.content.removeprefix("nc1:")
    raw = base64.b64decode(blob)
    assert raw[0] == 1 and raw[2:2 + raw[1]] == NEW_KEY.encode()
    if fmt == "v1":
        with pytest.raises(DecryptionError):
            decrypt_config(kms, data_id=data_id, group="other", tenant="t",
                           content=stored.content, encrypted_data_key=stored.encrypted_data_key)


def test_rotation_old_configs_still_open(hsm: Dict[str, str]) -> None:
    old = open_kms(hsm, OLD_KEY)
    stored = encrypt_config(old, data_id=DATA_IDS[0], group="G", content=CONTENT, key_id="")
    new = open_kms(hsm, NEW_KEY)
    assert new.key_label == NEW_KEY
    assert decrypt_config(new, data_id=DATA_IDS[0], group="G", content=stored.content,
                          encrypted_data_key=stored.encrypted_data_key) == CONTENT
    key, blob = new.generate_data_key(OLD_KEY, "AES_128", {"dataId": "x"})
    assert len(key) == 16 and new.decrypt(blob, {"dataId": "x"}) == key
    with pytest.raises(DecryptionError):
        new.decrypt(blob, {"dataId": "y"})


def test_eight_threads_share_one_kms(hsm: Dict[str, str]) -> None:
    kms = open_kms(hsm)
    failures: List[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(20):
                data_id = DATA_IDS[i % 3]
                text = f"thread {n} round {i}: {CONTENT}"
                stored = encrypt_config(kms, data_id=data_id, group="G", tenant=f"t{n}",
                                        content=text, key_id="", format="v1")
                back = decrypt_config(kms, data_id=data_id, group="G", tenant=f"t{n}",
                                      content=stored.content,
                                      encrypted_data_key=stored.encrypted_data_key)
                assert back == text
        except BaseException as e:  # noqa: BLE001 (reported below)
            failures.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    stats = kms.stats()
    assert stats["sessions_discarded"] == 0 and 1 <= stats["sessions_opened"] <= 8, stats


def test_a_wrong_pin_is_refused(hsm: Dict[str, str], tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = tmp_path / "wrong-pin"
    wrong.write_text("definitely-not-the-pin\n")
    with pytest.raises(KmsError) as info:
        Pkcs11Kms(module=hsm["NACOSCRYPT_PKCS11_MODULE"], token_label=WRONG_TOKEN,
                  pin_file=wrong)
    e = info.value
    assert isinstance(e, NacosCryptError) and e.code == "CKR_PIN_INCORRECT"
    assert "definitely-not-the-pin" not in str(e)
    # The right PIN, from the environment, opens the same token.
    monkeypatch.setenv("NACOSCRYPT_TEST_PKCS11_PIN", WRONG_TOKEN_PIN)
    kms = Pkcs11Kms(module=hsm["NACOSCRYPT_PKCS11_MODULE"], token_label=WRONG_TOKEN,
                    pin_env="NACOSCRYPT_TEST_PKCS11_PIN")
    text = repr(kms)
    assert WRONG_TOKEN_PIN not in text and "logged_in=True" in text and WRONG_TOKEN in text
    # An unset variable names itself, never a value.
    with pytest.raises(FileError, match="NACOSCRYPT_TEST_PKCS11_PIN_UNSET is not set"):
        Pkcs11Kms(module=hsm["NACOSCRYPT_PKCS11_MODULE"], token_label=TOKEN,
                  pin_env="NACOSCRYPT_TEST_PKCS11_PIN_UNSET")


def test_missing_keys_tokens_and_modules(hsm: Dict[str, str]) -> None:
    kms = open_kms(hsm, "no-such-key")
    with pytest.raises(KmsError) as info:
        kms.encrypt("", b"x")
    assert info.value.kind == "unknown_key"
    with pytest.raises(KmsError) as info:
        encrypt_config(kms, data_id=DATA_IDS[0], group="G", content="x=1", key_id="also-missing")
    assert info.value.kind == "unknown_key"
    with pytest.raises(KmsError):
        kms.check("missing")
    bare = open_kms(hsm, None)
    assert bare.key_label is None
    with pytest.raises(InvalidArgument):
        bare.encrypt("", b"x")
    with pytest.raises(KmsError) as info:
        Pkcs11Kms(module=hsm["NACOSCRYPT_PKCS11_MODULE"], token_label="no-such-token",
                  pin_file=hsm["PIN_FILE"])
    assert info.value.code == "CKR_TOKEN_NOT_PRESENT"
    with pytest.raises(FileError):
        Pkcs11Kms(module="/nonexistent/libpkcs11.so", token_label=TOKEN, pin_file=hsm["PIN_FILE"])


def test_check_stats_repr_and_bad_arguments(hsm: Dict[str, str]) -> None:
    kms = open_kms(hsm)
    report = kms.check()
    assert report["token_label"] == TOKEN and report["key_label"] == NEW_KEY
    assert "SoftHSM" in str(report["library"])
    text = repr(kms)
    assert text.startswith("Pkcs11Kms(module=") and PIN not in text and hsm["PIN_FILE"] not in text
    assert kms.stats()["idle"] >= 1
    module = hsm["NACOSCRYPT_PKCS11_MODULE"]
    with pytest.raises(InvalidArgument):
        Pkcs11Kms(module=module)
    with pytest.raises(InvalidArgument):
        Pkcs11Kms(module=module, token_label=TOKEN, slot=0)
    with pytest.raises(InvalidArgument):
        Pkcs11Kms(module=module, token_label=TOKEN, pin_file=hsm["PIN_FILE"], pin_env="X")
    with pytest.raises(InvalidArgument):
        Pkcs11Kms(module=module, token_label=TOKEN, pin_file=hsm["PIN_FILE"], max_idle_sessions=0)
    with pytest.raises(InvalidArgument):
        Pkcs11Kms(module=module, token_label=TOKEN, pin_file=hsm["PIN_FILE"], key_label="x" * 256)
    with pytest.raises(TypeError):
        Pkcs11Kms(module, TOKEN)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Pkcs11Kms(module=module, token_label=TOKEN, pin="1234")  # type: ignore[call-arg]


def test_doctor_and_migrate_accept_it(hsm: Dict[str, str], tmp_path: Path) -> None:
    kms = open_kms(hsm)
    local = LocalKms.create(tmp_path / "keyring", "alias/local")
    old = encrypt_config(local, data_id=DATA_IDS[1], group="G", content=CONTENT,
                         key_id="alias/local")
    moved = migrate_config(local, kms, key_id=NEW_KEY, data_id=DATA_IDS[1], group="G",
                           content=old.content, encrypted_data_key=old.encrypted_data_key,
                           mode="rewrap")
    assert moved is not None and moved["content"] == old.content
    assert decrypt_config(kms, data_id=DATA_IDS[1], group="G", content=str(moved["content"]),
                          encrypted_data_key=str(moved["encryptedDataKey"])) == CONTENT
    report = diagnose_config(data_id=DATA_IDS[1], group="G", content=str(moved["content"]),
                             encrypted_data_key=str(moved["encryptedDataKey"]), kms=kms)
    assert report["healthy"] is True


def test_the_token_removed_mid_run_is_a_clean_error(hsm: Dict[str, str]) -> None:
    """The token deleted (softhsm2-util) while four threads use it: each sees a KmsError soon,
    no call hangs; then every call fails at once with CKR_TOKEN_NOT_PRESENT."""
    kms = Pkcs11Kms(module=hsm["NACOSCRYPT_PKCS11_MODULE"], token_label=REMOVAL_TOKEN,
                    pin_file=hsm["PIN_FILE"], key_label=REMOVAL_KEY)
    blob = kms.encrypt("", b"before")
    errors: List[BaseException] = []
    slowest: List[float] = []

    def work() -> None:
        started, worst = time.monotonic(), 0.0
        try:
            while time.monotonic() - started < 20:
                t = time.monotonic()
                try:
                    kms.decrypt(blob)
                finally:
                    worst = max(worst, time.monotonic() - t)
        except BaseException as e:  # noqa: BLE001 (checked below)
            errors.append(e)
        slowest.append(worst)

    threads = [threading.Thread(target=work, daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    subprocess.run(["softhsm2-util", "--delete-token", "--token", REMOVAL_TOKEN], check=True,
                   capture_output=True)
    deadline = time.monotonic() + 15
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
        assert not t.is_alive(), "a thread hung after the token was removed"
    assert len(errors) == 4, errors
    # While the token is being deleted a call may still see it, emptied: an unknown key.
    assert all(isinstance(e, KmsError) for e in errors), errors
    assert max(slowest) < 5, slowest
    for _ in range(3):
        started = time.monotonic()
        with pytest.raises(KmsError) as info:
            kms.decrypt(blob)
        assert info.value.code == "CKR_TOKEN_NOT_PRESENT"
        assert REMOVAL_TOKEN in str(info.value) and PIN not in str(info.value)
        with pytest.raises(KmsError) as info:
            kms.encrypt("", b"after")
        assert info.value.code == "CKR_TOKEN_NOT_PRESENT"
        assert time.monotonic() - started < 5
    assert kms.stats()["idle"] == 0
    with pytest.raises(KmsError) as info:
        Pkcs11Kms(module=hsm["NACOSCRYPT_PKCS11_MODULE"], token_label=REMOVAL_TOKEN,
                  pin_file=hsm["PIN_FILE"])
    assert info.value.code == "CKR_TOKEN_NOT_PRESENT"
