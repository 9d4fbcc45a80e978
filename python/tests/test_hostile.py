"""Hostile input (issue 12): bounded placeholder expansion and file reads, NUL, writers that
refuse what their readers refuse, and errors that stay in the library's hierarchy."""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from nacoscrypt import (
    AuthSettings,
    Claims,
    ContentTooLarge,
    DecryptionError,
    FileError,
    InvalidArgument,
    InvalidClaims,
    LocalKms,
    MalformedToken,
    NacosCryptError,
    SecretKey,
    ServerIdentity,
    SettingsError,
    TokenCache,
    TokenManager,
    decrypt_config,
    encrypt_config,
    needs_refresh,
    refresh_at_ms,
)

SECRET = "nacos.core.auth.plugin.nacos.token.secret.key"
MAX_PROPERTIES_LEN = 4 << 20


def exponential(depth: int, width: int) -> str:
    lines = [SECRET + "=${p0}"]
    for i in range(depth):
        lines.append(f"p{i}=" + ("${p%d}" % (i + 1)) * width)
    lines.append(f"p{depth}=" + "A" * 44)
    return "\n".join(lines) + "\n"


def fails_fast(call: Callable[[], Any], exc: type, match: str) -> None:
    start = time.monotonic()
    with pytest.raises(exc, match=match):
        call()
    assert time.monotonic() - start < 2


# ----- 1. placeholder expansion -----


@pytest.mark.parametrize("depth,width", [(7, 10), (4, 100)])
def test_exponential_placeholders_fail_fast(depth: int, width: int) -> None:
    text = exponential(depth, width)
    assert len(text) < 2200
    fails_fast(lambda: AuthSettings.from_properties(text), SettingsError, "placeholders")


def test_placeholder_count_bound() -> None:
    ok = AuthSettings.from_properties("nacos.core.auth.server.identity.key=" + "${x}" * 256 + "\nx=a\n")
    assert ok.identity_key == "a" * 256
    with pytest.raises(SettingsError, match="more than 256 placeholders"):
        AuthSettings.from_properties("nacos.core.auth.server.identity.key=" + "${x}" * 257 + "\nx=a\n")


# ----- 2. properties files read with a bound -----


def test_properties_file_dev_zero_fails_fast() -> None:
    fails_fast(lambda: AuthSettings.from_file("/dev/zero"), FileError, "character device")


def test_properties_file_fifo_fails_fast(tmp_path: Path) -> None:
    fifo = tmp_path / "application.properties"
    os.mkfifo(fifo)
    fails_fast(lambda: AuthSettings.from_file(fifo), FileError, "FIFO")


def test_properties_file_one_byte_over_the_bound(tmp_path: Path) -> None:
    path = tmp_path / "application.properties"
    head = "nacos.core.auth.server.identity.key=k\n"
    path.write_text(head + "#" * (MAX_PROPERTIES_LEN - len(head)))
    assert AuthSettings.from_file(path).identity_key == "k"
    path.write_text(head + "#" * (MAX_PROPERTIES_LEN - len(head) + 1))
    with pytest.raises(SettingsError, match="too large"):
        AuthSettings.from_file(path)


# ----- 3. NUL -----


@pytest.mark.filterwarnings("ignore:TokenCache.login:DeprecationWarning")  # the deprecated alias
def test_nul_subject_is_refused_both_ways() -> None:
    key = SecretKey.from_bytes(b"\x11" * 32)
    manager = TokenManager(key)
    with pytest.raises(InvalidClaims, match="NUL"):
        manager.issue("a\0b", now=0)
    with pytest.raises(InvalidClaims, match="NUL"):
        TokenCache(manager).login("a\0b", now_ms=0)
    ok = manager.issue("a\x01b", now=0)
    assert manager.verify(ok.token, now=0).sub == "a\x01b"


def test_kms_blob_with_nul_is_never_stored() -> None:
    class NulKms:
        def generate_data_key(self, key_id: str, spec: str, context: Any) -> Any:
            return (b"\x01" * (32 if spec == "AES_256" else 16), "blob\0tail")

        def encrypt(self, key_id: str, plaintext: bytes, context: Any) -> str:
            return "blob\0tail"

        def decrypt(self, blob: str, context: Any) -> bytes:
            raise AssertionError("never reached")

    for data_id in ["cipher-kms-aes-256-x", "cipher-x"]:
        with pytest.raises(NacosCryptError, match="NUL") as info:
            encrypt_config(NulKms(), data_id=data_id, group="g", content="a=b", key_id="k")
        assert info.value.kind == "kms"


# ----- 4. writers refuse what readers refuse -----


def test_long_subject_is_refused_as_its_token_would_be() -> None:
    manager = TokenManager(SecretKey.from_bytes(b"\x11" * 32))
    with pytest.raises(MalformedToken, match="longer than 8300 bytes"):
        manager.issue("u" * 6200, now=0)
    assert manager.verify(manager.issue("u" * 6000, now=0).token, now=0).sub == "u" * 6000


def test_local_kms_refuses_what_it_could_not_decrypt() -> None:
    kms = LocalKms.from_string(
        "key alias/k 52f22665-a60c-42d2-a918-5d950ee88136 " + base64.b64encode(b"\x07" * 32).decode() + "\n"
    )
    with pytest.raises(ContentTooLarge):
        kms.encrypt("alias/k", b"\0" * (10 << 20))
    with pytest.raises(ContentTooLarge, match="ciphertext blob too large"):
        kms.decrypt("A" * ((1 << 20) + 4))


# ----- 5. errors inside the hierarchy -----


def test_integers_beyond_64_bits_are_invalid_arguments() -> None:
    manager = TokenManager(SecretKey.from_bytes(b"\x11" * 32))
    calls: list[Callable[[], Any]] = [
        lambda: manager.issue("u", now=2**63),
        lambda: manager.verify("a.b.c", now=-(2**63) - 1),
        lambda: TokenManager(SecretKey.from_bytes(b"\x11" * 32), validity=2**64),
        lambda: TokenManager(SecretKey.from_bytes(b"\x11" * 32), leeway=2**70),
        lambda: TokenCache(manager).login("u", now_ms=2**63),
        lambda: TokenCache(manager).evict_expired(now=2**63),
        lambda: Claims("u", 2**63),
        lambda: refresh_at_ms(2**63, 1),
        lambda: needs_refresh(0, 1, now_ms=2**64),
    ]
    for call in calls:
        with pytest.raises(InvalidArgument, match="64-bit"):
            call()
    with pytest.raises(InvalidArgument):
        TokenManager(SecretKey.from_bytes(b"\x11" * 32), validity=-1)


def test_lone_surrogates_are_invalid_arguments() -> None:
    manager = TokenManager(SecretKey.from_bytes(b"\x11" * 32))
    kms = LocalKms.from_string(
        "key alias/k 52f22665-a60c-42d2-a918-5d950ee88136 " + base64.b64encode(b"\x07" * 32).decode() + "\n"
    )
    bad = "a\ud800b"
    calls: list[Callable[[], Any]] = [
        lambda: manager.issue(bad, now=0),
        lambda: manager.verify(bad, now=0),
        lambda: TokenCache(manager).login(bad, now_ms=0),
        lambda: Claims(bad, 0),
        lambda: SecretKey.from_base64(bad),
        lambda: TokenManager(bad),
        lambda: ServerIdentity(bad, "v"),
        lambda: AuthSettings.from_properties(bad),
        lambda: AuthSettings.from_properties("a=b", env={"X": bad}),
        lambda: AuthSettings.from_env({bad: "x"}),
        lambda: encrypt_config(kms, data_id="cipher-x", group="g", content=bad, key_id="alias/k"),
        lambda: encrypt_config(kms, data_id="cipher-x", group="g", content="a", key_id="alias/k", tenant=bad),
        lambda: decrypt_config(kms, data_id=bad, group="g", content="x", encrypted_data_key=""),
        lambda: kms.encrypt(bad, b"x"),
        lambda: kms.encrypt("alias/k", b"x", context={"a": bad}),
        lambda: kms.decrypt(bad),
        lambda: kms.generate_data_key("alias/k", bad),
        lambda: LocalKms.from_string(bad),
    ]
    for call in calls:
        with pytest.raises(InvalidArgument, match="surrogate"):
            call()


def test_wrong_types_are_type_errors() -> None:
    kms = LocalKms.from_string(
        "key alias/k 52f22665-a60c-42d2-a918-5d950ee88136 " + base64.b64encode(b"\x07" * 32).decode() + "\n"
    )
    identity = ServerIdentity("X-Peer", "d2f8c0e7a1b9")
    manager = TokenManager(SecretKey.from_bytes(b"\x11" * 32))
    calls: list[Callable[[], Any]] = [
        lambda: kms.encrypt("alias/k", b"x", context=5),  # type: ignore[arg-type]
        lambda: kms.encrypt("alias/k", b"x", context={"a": 1}),  # type: ignore[dict-item]
        lambda: kms.decrypt("x", context=[("a", "b")]),  # type: ignore[arg-type]
        lambda: identity.matches(None),  # type: ignore[arg-type]
        lambda: identity.matches({"x-peer": 5}),  # type: ignore[dict-item]
        lambda: AuthSettings.from_env(5),  # type: ignore[arg-type]
        lambda: AuthSettings.from_properties("a=b", env={"a": None}),  # type: ignore[dict-item]
        lambda: manager.issue(5, now=0),  # type: ignore[arg-type]
        lambda: manager.issue("u", now="0"),  # type: ignore[arg-type]
        lambda: Claims("u", 1.5),  # type: ignore[arg-type]
    ]
    for call in calls:
        with pytest.raises(TypeError):
            call()


def test_context_items_that_are_not_pairs_are_type_errors() -> None:
    kms = LocalKms.from_string(
        "key alias/k 52f22665-a60c-42d2-a918-5d950ee88136 " + base64.b64encode(b"\x07" * 32).decode() + "\n"
    )

    class Triples:
        def items(self) -> list[tuple[str, str, str]]:
            return [("a", "b", "c")]

    with pytest.raises(TypeError, match="must map str to str"):
        kms.encrypt("alias/k", b"x", context=Triples())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must map str to str"):
        ServerIdentity("X-Peer", "d2f8c0e7a1b9").matches(Triples())  # type: ignore[arg-type]


# ----- 6. errors classified by cause -----


def test_short_v1_content_is_one_kind_at_every_length() -> None:
    kms = LocalKms.from_string(
        "key alias/k 52f22665-a60c-42d2-a918-5d950ee88136 " + base64.b64encode(b"\x07" * 32).decode() + "\n"
    )
    stored = encrypt_config(kms, data_id="cipher-kms-aes-256-x", group="g", content="a=b", key_id="alias/k", format="v1")
    for n in [0, 3, 11, 12, 27]:
        content = "nc1:" + base64.b64encode(b"\0" * n).decode()
        with pytest.raises(DecryptionError) as info:
            decrypt_config(
                kms, data_id="cipher-kms-aes-256-x", group="g", content=content,
                encrypted_data_key=stored.encrypted_data_key,
            )
        assert info.value.kind == "authentication_failed", n
