"""diagnose_config and migrate_config (issue 16) on generated corpora: every scheme, both
formats, server plugin configs made with `cryptography` following the plugin's source
(AesEncryptionPluginService / ServerAesEncryptionPluginService), missing and swapped
encryptedDataKeys, a deleted key and injected KMS faults."""

from __future__ import annotations

import base64
import os
from typing import Dict, List

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from nacoscrypt import (
    InvalidArgument,
    KmsError,
    LocalKms,
    decrypt_config,
    diagnose_config,
    encrypt_config,
    migrate_config,
)
from support import AesGcmKms

DATA_IDS = ["cipher-kms-aes-256-db.properties", "cipher-kms-aes-128-app.yaml", "cipher-token.json"]
OLD = "key alias/old 11111111-1111-1111-1111-111111111111 AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n"
NEW = "key alias/new 22222222-2222-2222-2222-222222222222 AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=\n"


def plugin_key() -> str:
    """The plugin's generateSecretKey: base64 of the hex of 16 random bytes."""
    return base64.b64encode(os.urandom(16).hex().encode()).decode()


def plugin_encrypt(secret_key: str, plaintext: str) -> str:
    """The plugin's encrypt: AES/CBC/PKCS5Padding, key = hex-decoded, IV = first 16 hex chars."""
    hex_text = base64.b64decode(secret_key).decode()
    padder = padding.PKCS7(128).padder()
    data = padder.update(plaintext.encode()) + padder.finalize()
    enc = Cipher(algorithms.AES(bytes.fromhex(hex_text)), modes.CBC(hex_text[:16].encode())).encryptor()
    return (enc.update(data) + enc.finalize()).hex()


def corpus(kms: LocalKms, key_id: str) -> List[Dict[str, str]]:
    out = []
    for i, data_id in enumerate(DATA_IDS):
        for fmt in ("nacos", "v1"):
            s = encrypt_config(kms, data_id=data_id, group="G", tenant="prod",
                               content=f"value-{i}&<x>", key_id=key_id, format=fmt)
            out.append({"dataId": data_id, "group": "G", "tenant": "prod", "content": s.content,
                        "encryptedDataKey": s.encrypted_data_key})
    return out


def diagnose(entry: Dict[str, str], **kw: object) -> Dict[str, object]:
    return diagnose_config(data_id=entry["dataId"], group=entry["group"], tenant=entry["tenant"],
                           content=entry["content"], encrypted_data_key=entry["encryptedDataKey"],
                           **kw)  # type: ignore[arg-type]


def codes(report: Dict[str, object]) -> List[str]:
    return [f["code"] for f in report["findings"]]  # type: ignore[attr-defined]


class FaultyKms(AesGcmKms):
    """A KMS that refuses every call after `fail_after` calls, as a throttled service does."""

    def __init__(self, fail_after: int, *key_ids: str) -> None:
        super().__init__(*key_ids)
        self.fail_after = fail_after

    def decrypt(self, blob: str, context: Dict[str, str]) -> bytes:
        self.fail_after -= 1
        if self.fail_after < 0:
            raise ConnectionError("Rejected.Throttling")
        return super().decrypt(blob, context)


def test_a_healthy_corpus_is_healthy_and_never_shows_plaintext() -> None:
    kms = LocalKms.from_string(OLD)
    for entry in corpus(kms, "alias/old"):
        static = diagnose(entry)
        assert static["healthy"] is True, static
        report = diagnose(entry, kms=kms)
        assert report["healthy"] is True and report["check"]["ok"] is True  # type: ignore[index]
        assert "value-" not in repr(report)
        fmt = "v1" if entry["content"].startswith("nc1:") else "nacos"
        assert report["format"] == fmt


def test_missing_swapped_and_deleted_keys_are_named() -> None:
    kms = LocalKms.from_string(OLD)
    entries = corpus(kms, "alias/old")
    a256, a128 = entries[0], entries[2]
    missing = dict(a256, encryptedDataKey="")
    assert "missing-encrypted-data-key" in codes(diagnose(missing))
    swapped = dict(a256, encryptedDataKey=a128["encryptedDataKey"])
    report = diagnose(swapped, kms=kms)
    assert "data-key-size-mismatch" in codes(report)
    assert report["check"]["failedStep"] == "data-key-length"  # type: ignore[index]
    # Same size, another config's key: the wrong key (padding) or garbage that is not UTF-8.
    other = encrypt_config(kms, data_id=a256["dataId"], group="G", content="zzz", key_id="alias/old")
    swapped = dict(a256, encryptedDataKey=other.encrypted_data_key)
    assert diagnose(swapped, kms=kms)["check"]["failedStep"] in ("wrong-key", "utf8")  # type: ignore[index]
    # The key was deleted: another keyring.
    report = diagnose(a256, kms=LocalKms.from_string(NEW))
    assert report["check"]["failedStep"] == "key-not-found"  # type: ignore[index]


def test_injected_kms_faults_name_the_kms_step() -> None:
    kms = FaultyKms(0, "alias/k")

    writer = AesGcmKms("alias/k")
    kms.keys = writer.keys
    s = encrypt_config(writer, data_id=DATA_IDS[0], group="G", content="x=1", key_id="alias/k")
    report = diagnose_config(data_id=DATA_IDS[0], group="G", content=s.content,
                             encrypted_data_key=s.encrypted_data_key, kms=kms)
    assert report["check"]["failedStep"] == "kms"  # type: ignore[index]
    assert "Rejected.Throttling" in report["check"]["message"]  # type: ignore[index]


def test_server_plugin_configs_made_with_cryptography() -> None:
    key = plugin_key()
    content = plugin_encrypt(key, "db.password=s3cret")
    report = diagnose_config(data_id="cipher-aes-db", group="G", content=content,
                             encrypted_data_key=key, kms=None, plugin_server_secret=None)
    assert report["format"] == "server-plugin" and report["healthy"] is True
    report = diagnose_config(data_id="cipher-aes-db", group="G", content=content,
                             encrypted_data_key=key, plugin_server_secret="unused")
    assert report["check"]["ok"] is True  # type: ignore[index]
    # doubleAes: the stored key is the secret key encrypted with the server's nacos.encrypt.
    server = plugin_key()
    wrapped = plugin_encrypt(server, key)
    report = diagnose_config(data_id="cipher-doubleAes-db", group="G", content=content,
                             encrypted_data_key=wrapped, plugin_server_secret=server)
    assert report["check"]["ok"] is True, report  # type: ignore[index]


def test_migrate_every_scheme_and_format_both_modes() -> None:
    old, new = LocalKms.from_string(OLD), LocalKms.from_string(NEW)
    for entry in corpus(old, "alias/old"):
        for mode in ("rekey", "rewrap"):
            for fmt in ("nacos", "v1"):
                args = dict(data_id=entry["dataId"], group="G", tenant="prod",
                            content=entry["content"], encrypted_data_key=entry["encryptedDataKey"])
                if mode == "rewrap" and entry["dataId"] == "cipher-token.json":
                    with pytest.raises(InvalidArgument) as info:
                        migrate_config(old, new, key_id="alias/new", mode=mode, format=fmt, **args)  # type: ignore[arg-type]
                    assert getattr(info.value, "step") == "scheme"
                    continue
                moved = migrate_config(old, new, key_id="alias/new", mode=mode, format=fmt, **args)  # type: ignore[arg-type]
                assert moved is not None and moved["renamedFrom"] is None
                plain = decrypt_config(new, data_id=moved["dataId"] or "", group="G", tenant="prod",
                                       content=moved["content"] or "",
                                       encrypted_data_key=moved["encryptedDataKey"] or "")
                want = decrypt_config(old, data_id=entry["dataId"], group="G", tenant="prod",
                                      content=entry["content"],
                                      encrypted_data_key=entry["encryptedDataKey"])
                assert plain == want
                # Resumable: the migrated config is already in the target form.
                again = migrate_config(old, new, key_id="alias/new", mode=mode, format=fmt,
                                       data_id=moved["dataId"] or "", group="G", tenant="prod",
                                       content=moved["content"] or "",
                                       encrypted_data_key=moved["encryptedDataKey"] or "")
                assert again is None


def test_migrate_off_the_server_plugin_and_faults() -> None:
    new = LocalKms.from_string(NEW)
    key = plugin_key()
    content = plugin_encrypt(key, "a=\\u0026b")
    moved = migrate_config(None, new, key_id="alias/new", data_id="cipher-aes-db", group="G",
                           content=content, encrypted_data_key=key, scheme="kms-aes-256",
                           unescape_html=True)
    assert moved is not None and moved["renamedFrom"] == "cipher-aes-db"
    assert moved["dataId"] == "cipher-kms-aes-256-db"
    assert decrypt_config(new, data_id="cipher-kms-aes-256-db", group="G", content=moved["content"] or "",
                          encrypted_data_key=moved["encryptedDataKey"] or "") == "a=&b"
    # An injected fault in the source KMS: KmsError with the step, the cause chained.
    writer = AesGcmKms("alias/k")
    faulty = FaultyKms(0, "alias/k")
    faulty.keys = writer.keys
    s = encrypt_config(writer, data_id=DATA_IDS[0], group="G", content="x=1", key_id="alias/k")
    with pytest.raises(KmsError) as info:
        migrate_config(faulty, new, key_id="alias/new", data_id=DATA_IDS[0], group="G",
                       content=s.content, encrypted_data_key=s.encrypted_data_key)
    assert getattr(info.value, "step") == "kms"
    assert isinstance(info.value.__cause__, ConnectionError)
    with pytest.raises(ValueError):
        migrate_config(None, new, key_id="k", data_id="cipher-x", group="G", content="x",
                       mode="sideways")  # type: ignore[arg-type]




def test_migrate_double_aes_plugin_configs_to_kms() -> None:
    """doubleAes (the key wrapped with the server's nacos.encrypt) onto every KMS scheme and
    format; the output fed back in, also with the target as the source, is already migrated."""
    new = LocalKms.from_string(NEW)
    server, other = plugin_key(), plugin_key()
    key = plugin_key()
    plain = "db.password=s3cret&x<y> 配置"
    content = plugin_encrypt(key, plain)
    wrapped = plugin_encrypt(server, key)
    stored = dict(data_id="cipher-doubleAes-db.properties", group="G", tenant="prod",
                  content=content, encrypted_data_key=wrapped)
    report = diagnose_config(**stored, plugin_server_secret=server)  # type: ignore[arg-type]
    assert report["check"]["ok"] is True and report["format"] == "server-plugin"  # type: ignore[index]
    for scheme, prefix in (("kms-aes-256", "cipher-kms-aes-256-"), ("kms-aes-128", "cipher-kms-aes-128-"),
                           ("direct", "cipher-")):
        for fmt in ("nacos", "v1"):
            args = dict(key_id="alias/new", scheme=scheme, format=fmt, **stored)
            # Without the server's secret the wrapped key cannot be opened.
            with pytest.raises(InvalidArgument) as info:
                migrate_config(None, new, **args)  # type: ignore[arg-type]
            assert getattr(info.value, "step") == "key-not-found"
            # With another server's secret the unwrapped key is garbage.
            with pytest.raises(Exception) as wrong:
                migrate_config(None, new, plugin_server_secret=other, **args)  # type: ignore[arg-type]
            assert getattr(wrong.value, "step") in ("wrong-key", "utf8", "structure")
            moved = migrate_config(None, new, plugin_server_secret=server, **args)  # type: ignore[arg-type]
            assert moved is not None
            assert moved["dataId"] == prefix + "db.properties"
            assert moved["renamedFrom"] == "cipher-doubleAes-db.properties"
            assert (moved["group"], moved["tenant"]) == ("G", "prod")
            assert (moved["content"] or "").startswith("nc1:") == (fmt == "v1")
            assert decrypt_config(new, data_id=moved["dataId"] or "", group="G", tenant="prod",
                                  content=moved["content"] or "",
                                  encrypted_data_key=moved["encryptedDataKey"] or "") == plain
            again = dict(key_id="alias/new", scheme=scheme, format=fmt, data_id=moved["dataId"],
                         group="G", tenant="prod", content=moved["content"],
                         encrypted_data_key=moved["encryptedDataKey"])
            assert migrate_config(None, new, plugin_server_secret=server, **again) is None  # type: ignore[arg-type]
            assert migrate_config(new, new, plugin_server_secret=server, **again) is None  # type: ignore[arg-type]


def test_a_rotation_inside_one_keyring_resumes() -> None:
    """Source = target (one LocalKms): entries under an older key version move to the primary;
    fed back in, everything is already migrated."""
    kms = LocalKms.from_string(OLD)
    entries = corpus(kms, "alias/old")
    kms.rotate("alias/old")
    for mode in ("rekey", "rewrap"):
        for entry in entries:
            args = dict(key_id="alias/old", mode=mode, data_id=entry["dataId"], group="G", tenant="prod",
                        content=entry["content"], encrypted_data_key=entry["encryptedDataKey"])
            if mode == "rewrap" and entry["dataId"] == "cipher-token.json":
                continue
            moved = migrate_config(kms, kms, **args)  # type: ignore[arg-type]
            assert moved is not None, entry
            assert decrypt_config(kms, data_id=entry["dataId"], group="G", tenant="prod",
                                  content=moved["content"] or "",
                                  encrypted_data_key=moved["encryptedDataKey"] or "") == \
                decrypt_config(kms, data_id=entry["dataId"], group="G", tenant="prod",
                               content=entry["content"], encrypted_data_key=entry["encryptedDataKey"])
            args.update(content=moved["content"] or "", encrypted_data_key=moved["encryptedDataKey"] or "")
            assert migrate_config(kms, kms, **args) is None  # type: ignore[arg-type]


def test_python_reads_a_hyphenless_data_id_as_envelope_only_with_a_key() -> None:
    kms = LocalKms.from_string(OLD)
    s = encrypt_config(kms, data_id="cipher-kms-aes-256-db", group="G", content="x=1", key_id="alias/old")
    with_key = diagnose_config(data_id="cipher-kms-aes-256db", group="G", content=s.content,
                               encrypted_data_key=s.encrypted_data_key)
    without = diagnose_config(data_id="cipher-kms-aes-256db", group="G", content=s.content)
    assert with_key["schemes"] == {"java": "direct", "go": "kms-aes-256", "python": "kms-aes-256"}
    assert without["schemes"] == {"java": "direct", "go": "kms-aes-256", "python": "direct"}
