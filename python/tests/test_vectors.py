"""Every case of the spec's vector files, through the Python API."""

from __future__ import annotations

import base64
from typing import Any, Dict, Type

import pytest

import nacoscrypt
from nacoscrypt import (
    DecryptionError,
    InvalidKey,
    InvalidToken,
    LocalKms,
    SecretKey,
    TokenManager,
    decrypt_config,
    encrypt_config,
)
from support import FixedKeyKms

TOKEN_ERRORS: Dict[str, Type[InvalidToken]] = {
    "malformed": nacoscrypt.MalformedToken,
    "unsupported_algorithm": nacoscrypt.UnsupportedAlgorithm,
    "invalid_signature": nacoscrypt.InvalidSignature,
    "invalid_claims": nacoscrypt.InvalidClaims,
    "expired": nacoscrypt.TokenExpired,
}

# What the server answers for each refusal (SPEC 3.3), as the vectors' `nacos_server_says`.
SERVER_MESSAGES = {
    "user not found!",
    "token invalid!",
    "unsupported signature algorithm",
    "Invalid signature",
    "token expired!",
}


def key_of(secret: str) -> SecretKey:
    # The vectors use the documentation's publicly known keys too: opt in explicitly.
    return SecretKey.from_base64(secret, allow_publicly_known=True)


# ----- tokens.json ---------------------------------------------------------------------------


def test_secret_key_vectors(token_vectors: Dict[str, Any]) -> None:
    cases = token_vectors["secret_keys"]
    assert len(cases) == 8
    for case in cases:
        if case["expect"] == "ok":
            key = key_of(case["secret"])
            assert key.algorithm == case["algorithm"], case
            assert key.bits == len(case["decoded_hex"]) * 4
            # The only way key bytes leave a SecretKey: the text for application.properties.
            assert base64.b64decode(key.to_base64()).hex() == case["decoded_hex"]
        else:
            with pytest.raises(InvalidKey) as info:
                key_of(case["secret"])
            expected_kind = {"too_short": "too_short", "invalid_base64": "invalid_base64_secret"}
            assert info.value.kind == expected_kind[case["expect"]], case
            assert case["secret"].strip() not in str(info.value), "no key material in messages"


def test_publicly_known_keys_need_the_opt_in() -> None:
    for secret in (
        "VGhpc0lzTXlDdXN0b21TZWNyZXRLZXkwMTIzNDU2Nzg=",
        "SecretKey012345678901234567890123456789012345678901234567890123456789",
    ):
        with pytest.raises(InvalidKey) as info:
            SecretKey.from_base64(secret)
        assert info.value.kind == "publicly_known"
        with pytest.raises(InvalidKey):
            TokenManager(secret)  # a str secret is decoded without the opt-in
        assert key_of(secret).bits >= 256


def test_sign_vectors_byte_for_byte(token_vectors: Dict[str, Any]) -> None:
    cases = token_vectors["sign"]
    assert len(cases) == 7
    for case in cases:
        manager = TokenManager(key_of(case["secret"]))
        assert manager.algorithm == case["alg"]
        issued = manager.issue(case["sub"], now=case["exp"] - manager.validity)
        assert issued.token == case["token"], case
        assert issued.expires_at == case["exp"]
        assert issued.subject == case["sub"]
        claims = manager.verify(case["token"], now=case["exp"])
        assert (claims.sub, claims.exp) == (case["sub"], case["exp"])


def test_verify_vectors(token_vectors: Dict[str, Any]) -> None:
    cases = token_vectors["verify"]
    assert len(cases) == 11
    for case in cases:
        manager = TokenManager(key_of(case["secret"]))
        if case["expect"] == "ok":
            claims = manager.verify(case["token"], now=case["now"])
            assert claims.sub == "nacos", case["name"]
            continue
        cls = TOKEN_ERRORS[case["expect"]]
        with pytest.raises(cls) as info:
            manager.verify(case["token"], now=case["now"])
        assert type(info.value) is cls, case["name"]
        assert info.value.kind == case["expect"]
        if case["nacos_server_says"] in SERVER_MESSAGES:
            assert info.value.nacos_message == case["nacos_server_says"], case["name"]


# ----- config-nacos-ecb.json -----------------------------------------------------------------


def data_id_for(key: bytes) -> str:
    return "cipher-kms-aes-256-db.properties" if len(key) == 32 else "cipher-kms-aes-128-db.properties"


def test_nacos_ecb_vectors_through_a_python_kms(ecb_vectors: Dict[str, Any]) -> None:
    cases = ecb_vectors["cases"]
    assert len(cases) == 4
    for case in cases:
        key = bytes.fromhex(case["data_key_hex"])
        assert base64.b64encode(key).decode() == case["plain_data_key_base64"]
        kms = FixedKeyKms(key)
        plain = decrypt_config(
            kms,
            data_id=data_id_for(key),
            group="DEFAULT_GROUP",
            content=case["content"],
            encrypted_data_key="fixed:alias/k",
        )
        assert plain == case["plaintext"]
        # ECB is deterministic: encrypting reproduces the stored content exactly.
        stored = encrypt_config(
            kms,
            data_id=data_id_for(key),
            group="DEFAULT_GROUP",
            content=case["plaintext"],
            key_id="alias/k",
        )
        assert stored.content == case["content"]
        assert stored.encrypted_data_key == "fixed:alias/k"
        assert stored.format == "nacos"
        # The nacos format hands the KMS an empty context.
        assert kms.contexts == [{}, {}]


def test_nacos_ecb_must_fail_vectors(ecb_vectors: Dict[str, Any]) -> None:
    expected_kinds = {
        # Its content decodes to 17 bytes, so the core refuses it as not whole blocks before
        # looking at the padding: a DecryptionError either way (see README).
        "bad padding after decrypt": {"bad_padding", "not_whole_blocks"},
        "not a whole block": {"not_whole_blocks"},
        "invalid base64": {"invalid_base64"},
        "plaintext is not UTF-8": {"invalid_utf8"},
    }
    cases = ecb_vectors["must_fail"]
    assert len(cases) == len(expected_kinds)
    for case in cases:
        key = bytes.fromhex(case["data_key_hex"])
        with pytest.raises(DecryptionError) as info:
            decrypt_config(
                FixedKeyKms(key),
                data_id=data_id_for(key),
                group="DEFAULT_GROUP",
                content=case["content"],
                encrypted_data_key="fixed:alias/k",
            )
        assert info.value.kind in expected_kinds[case["reason"]], case["reason"]


def test_the_first_block_of_the_bad_padding_vector_is_bad_padding(
    ecb_vectors: Dict[str, Any],
) -> None:
    case = next(c for c in ecb_vectors["must_fail"] if c["reason"] == "bad padding after decrypt")
    first_block = base64.b64encode(base64.b64decode(case["content"])[:16]).decode()
    key = bytes.fromhex(case["data_key_hex"])
    with pytest.raises(DecryptionError) as info:
        decrypt_config(
            FixedKeyKms(key),
            data_id=data_id_for(key),
            group="DEFAULT_GROUP",
            content=first_block,
            encrypted_data_key="fixed:alias/k",
        )
    assert info.value.kind == "bad_padding"


# ----- config-local-kms.json -----------------------------------------------------------------


def test_local_kms_vectors(local_kms_vectors: Dict[str, Any]) -> None:
    kms = LocalKms.from_string(local_kms_vectors["keyring"])
    assert kms.key_ids() == ["alias/nacos-test", "alias/other"]
    cases = local_kms_vectors["cases"]
    assert len(cases) == 8
    for case in cases:
        plain = decrypt_config(
            kms,
            data_id=case["dataId"],
            group=case["group"],
            tenant=case["tenant"],
            content=case["content"],
            encrypted_data_key=case["encryptedDataKey"],
        )
        assert plain == case["plaintext"], case
        assert nacoscrypt.EncryptedConfig(case["content"], "").format == case["format"]


def test_local_kms_must_fail_vectors(local_kms_vectors: Dict[str, Any]) -> None:
    kms = LocalKms.from_string(local_kms_vectors["keyring"])
    cases = local_kms_vectors["must_fail"]
    assert len(cases) == 22
    for case in cases:
        with pytest.raises(DecryptionError) as info:
            decrypt_config(
                kms,
                data_id=case["dataId"],
                group=case["group"],
                tenant=case["tenant"],
                content=case["content"],
                encrypted_data_key=case["encryptedDataKey"],
            )
        # Tampered, moved or swapped: one opaque kind, one opaque message.
        assert info.value.kind == "authentication_failed", case["reason"]
        assert str(info.value) == "authentication failed"


def test_local_kms_vectors_reencrypt_in_both_formats(local_kms_vectors: Dict[str, Any]) -> None:
    kms = LocalKms.from_string(local_kms_vectors["keyring"])
    for case in local_kms_vectors["cases"]:
        stored = encrypt_config(
            kms,
            data_id=case["dataId"],
            group=case["group"],
            tenant=case["tenant"],
            content=case["plaintext"],
            key_id="alias/other",
            format=case["format"],
        )
        assert stored.format == case["format"]
        back = decrypt_config(
            kms,
            data_id=case["dataId"],
            group=case["group"],
            tenant=case["tenant"],
            content=stored.content,
            encrypted_data_key=stored.encrypted_data_key,
        )
        assert back == case["plaintext"]
