"""KMS objects written in Python, and LocalKms."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import pytest

from nacoscrypt import (
    DecryptionError,
    FileError,
    InvalidArgument,
    KeyringError,
    Kms,
    KmsError,
    LocalKms,
    decrypt_config,
    encrypt_config,
)
from support import AesGcmKms

DATA_IDS = ["cipher-kms-aes-256-db.properties", "cipher-kms-aes-128-app.yaml", "cipher-token.json"]


@pytest.mark.parametrize("data_id", DATA_IDS)
@pytest.mark.parametrize("fmt", ["nacos", "v1"])
def test_python_kms_round_trip(data_id: str, fmt: str) -> None:
    kms = AesGcmKms("alias/app")
    content = "password=s3cret\nü中"
    stored = encrypt_config(
        kms, data_id=data_id, group="g", tenant="", content=content, key_id="alias/app",
        format="v1" if fmt == "v1" else "nacos",
    )
    assert stored.format == fmt
    assert (stored.encrypted_data_key == "") == (data_id == "cipher-token.json")
    back = decrypt_config(
        kms, data_id=data_id, group="g", content=stored.content,
        encrypted_data_key=stored.encrypted_data_key,
    )
    assert back == content
    # The context: {} for the nacos format, the config's identity (tenant "" → "public") for v1.
    expected = {} if fmt == "nacos" else {"dataId": data_id, "group": "g", "tenant": "public"}
    assert [context for _, context in kms.calls] == [expected, expected]
    method = "encrypt" if data_id == "cipher-token.json" else "generate_data_key"
    assert kms.calls[0][0] == method


def test_v1_moved_to_another_group_fails_with_a_python_kms() -> None:
    kms = AesGcmKms("alias/app")
    stored = encrypt_config(kms, data_id="cipher-kms-aes-256-x", group="g", content="x",
                            key_id="alias/app", format="v1")
    with pytest.raises(KmsError) as info:
        decrypt_config(kms, data_id="cipher-kms-aes-256-x", group="other", content=stored.content,
                       encrypted_data_key=stored.encrypted_data_key)
    # The Python KMS bound the context, so *it* refused: its exception is the cause.
    assert type(info.value.__cause__).__name__ == "InvalidTag"


class RaisingKms:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def generate_data_key(self, key_id: str, spec: str, context: Dict[str, str]) -> Tuple[bytes, str]:
        raise self.exc

    def encrypt(self, key_id: str, plaintext: bytes, context: Dict[str, str]) -> str:
        raise self.exc

    def decrypt(self, blob: str, context: Dict[str, str]) -> bytes:
        raise self.exc


@pytest.mark.parametrize("data_id", ["cipher-kms-aes-256-x", "cipher-x"])
def test_an_exception_inside_a_python_kms_is_chained_never_swallowed(data_id: str) -> None:
    boom = ConnectionError("KMS endpoint unreachable")
    kms = RaisingKms(boom)
    with pytest.raises(KmsError) as info:
        encrypt_config(kms, data_id=data_id, group="g", content="x", key_id="alias/k")
    assert info.value.__cause__ is boom
    assert info.value.kind == "kms"
    assert "ConnectionError: KMS endpoint unreachable" in str(info.value)
    method = "generate_data_key" if "kms-aes" in data_id else "encrypt"
    assert str(info.value).startswith(f"KMS failure: {method} raised")
    assert boom.__traceback__ is not None, "the original traceback is kept"

    with pytest.raises(KmsError) as info:
        decrypt_config(kms, data_id=data_id, group="g", content="AAAA", encrypted_data_key="e")
    assert info.value.__cause__ is boom
    assert "decrypt raised ConnectionError" in str(info.value)


def test_keyboard_interrupt_inside_a_python_kms_propagates_as_is() -> None:
    with pytest.raises(KeyboardInterrupt):
        decrypt_config(RaisingKms(KeyboardInterrupt()), data_id="cipher-x", group="g",
                       content="AAAA", encrypted_data_key="")


class WrongTypesKms:
    def __init__(self, key: object, blob: object, plain: object) -> None:
        self.key, self.blob, self.plain = key, blob, plain

    def generate_data_key(self, key_id: str, spec: str, context: Dict[str, str]) -> object:
        return (self.key, self.blob)

    def encrypt(self, key_id: str, plaintext: bytes, context: Dict[str, str]) -> object:
        return self.blob

    def decrypt(self, blob: str, context: Dict[str, str]) -> object:
        return self.plain


def test_wrong_return_types_are_kms_errors_with_a_type_error_cause() -> None:
    calls: List[Callable[[], object]] = [
        lambda: encrypt_config(WrongTypesKms("k" * 32, "blob", b""), data_id="cipher-kms-aes-256-x",  # type: ignore[arg-type]
                               group="g", content="x", key_id="k"),
        lambda: encrypt_config(WrongTypesKms(b"k" * 32, 42, b""), data_id="cipher-kms-aes-256-x",  # type: ignore[arg-type]
                               group="g", content="x", key_id="k"),
        lambda: encrypt_config(WrongTypesKms(b"", b"blob", b""), data_id="cipher-x",  # type: ignore[arg-type]
                               group="g", content="x", key_id="k"),
        lambda: decrypt_config(WrongTypesKms(b"", "", "text"), data_id="cipher-x",  # type: ignore[arg-type]
                               group="g", content="AAAA", encrypted_data_key=""),
    ]
    for call in calls:
        with pytest.raises(KmsError) as info:
            call()
        assert isinstance(info.value.__cause__, TypeError), info.value
    # A missing method: the AttributeError is the cause.
    with pytest.raises(KmsError) as info:
        decrypt_config(object(), data_id="cipher-x", group="g", content="AAAA",  # type: ignore[arg-type]
                       encrypted_data_key="")
    assert isinstance(info.value.__cause__, AttributeError)


def test_bytearray_and_a_list_return_are_handled() -> None:
    key = bytearray(os.urandom(16))
    kms = WrongTypesKms(key, "blob", key)
    stored = encrypt_config(kms, data_id="cipher-kms-aes-128-x", group="g", content="hi",  # type: ignore[arg-type]
                            key_id="k")
    assert decrypt_config(kms, data_id="cipher-kms-aes-128-x", group="g", content=stored.content,  # type: ignore[arg-type]
                          encrypted_data_key="blob") == "hi"

    class ListKms(WrongTypesKms):
        def generate_data_key(self, key_id: str, spec: str, context: Dict[str, str]) -> object:
            return [bytes(16), "blob"]

    with pytest.raises(KmsError) as info:
        encrypt_config(ListKms(b"", "", b""), data_id="cipher-kms-aes-128-x", group="g",  # type: ignore[arg-type]
                       content="hi", key_id="k")
    assert "expected a (bytes, str) tuple" in str(info.value.__cause__)


def test_a_data_key_of_the_wrong_length_is_a_kms_error() -> None:
    kms = WrongTypesKms(bytes(16), "blob", bytes(16))
    with pytest.raises(KmsError) as info:
        encrypt_config(kms, data_id="cipher-kms-aes-256-x", group="g", content="x", key_id="k")  # type: ignore[arg-type]
    assert info.value.kind == "data_key_length"
    assert info.value.__cause__ is None


def test_local_kms_is_a_kms() -> None:
    local = LocalKms.from_string(
        "key alias/nacos 52f22665-a60c-42d2-a918-5d950ee88136 "
        "CRZvaxE9F41sD9OQH/I5oaCV8g+TlWUM+TgLjtsiSms=\n"
    )
    assert isinstance(local, Kms)
    assert isinstance(AesGcmKms(), Kms)
    kms: Kms = local
    key, blob = kms.generate_data_key("alias/nacos", "AES_128", {"dataId": "d"})
    assert len(key) == 16
    assert kms.decrypt(blob, {"dataId": "d"}) == key
    with pytest.raises(DecryptionError):
        kms.decrypt(blob, {"dataId": "other"})
    assert local.decrypt(local.encrypt("alias/nacos", b"small")) == b"small"
    with pytest.raises(InvalidArgument):
        local.generate_data_key("alias/nacos", "AES_512")


def test_local_kms_create_rotate_and_reload(tmp_path: Path) -> None:
    path = tmp_path / "keyring"
    kms = LocalKms.create(str(path), "alias/nacos")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert kms.path == path
    assert kms.key_ids() == ["alias/nacos"]
    first = kms.primary_version("alias/nacos")
    assert first is not None and len(first) == 36
    old = encrypt_config(kms, data_id="cipher-kms-aes-256-x", group="g", content="before",
                         key_id="alias/nacos")

    new_version = kms.rotate("alias/nacos")
    assert kms.versions("alias/nacos") == [first, new_version]
    assert kms.primary_version("alias/nacos") == new_version
    # The file was rewritten (atomically, still 0600) and reloads to the same keyring.
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    reloaded = LocalKms.from_file(path)
    assert reloaded.versions("alias/nacos") == [first, new_version]
    # Old configs still decrypt; new ones use the new primary version.
    assert decrypt_config(reloaded, data_id="cipher-kms-aes-256-x", group="g", content=old.content,
                          encrypted_data_key=old.encrypted_data_key) == "before"
    new = encrypt_config(reloaded, data_id="cipher-kms-aes-256-x", group="g", content="after",
                         key_id="alias/nacos")
    assert base64.b64decode(new.encrypted_data_key)[:36].decode() == new_version

    with pytest.raises(KmsError):
        kms.rotate("alias/missing")
    kms.rotate("alias/second", create=True)
    assert LocalKms.from_file(path).key_ids() == ["alias/nacos", "alias/second"]
    with pytest.raises(FileError):
        LocalKms.create(path, "alias/again")  # never overwrites a keyring


def test_in_memory_rotation_leaves_no_file(tmp_path: Path) -> None:
    kms = LocalKms.from_string(
        "key alias/nacos 52f22665-a60c-42d2-a918-5d950ee88136 "
        "CRZvaxE9F41sD9OQH/I5oaCV8g+TlWUM+TgLjtsiSms=\n"
    )
    assert kms.path is None
    version = kms.rotate("alias/nacos")
    assert kms.versions("alias/nacos")[-1] == version
    with pytest.raises(InvalidArgument):
        kms.rotate("bad key id", create=True)


def test_key_bytes_never_leave_a_local_kms(tmp_path: Path) -> None:
    key_b64 = "CRZvaxE9F41sD9OQH/I5oaCV8g+TlWUM+TgLjtsiSms="
    kms = LocalKms.from_string(f"key alias/nacos 52f22665-a60c-42d2-a918-5d950ee88136 {key_b64}\n")
    texts: List[str] = [repr(kms), str(kms)]
    texts += [repr(getattr(kms, name)) for name in dir(kms) if not name.startswith("_")]
    for text in texts:
        assert key_b64 not in text and "CRZvax" not in text
    assert repr(kms) == "LocalKms(key_ids=['alias/nacos'])"
    with pytest.raises(KeyringError) as info:
        LocalKms.from_string(f"key alias/nacos short-version-id {key_b64}\n")
    assert key_b64 not in str(info.value)
    assert str(info.value).startswith("keyring line 1:")
