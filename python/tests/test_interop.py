"""Interoperability with the libraries Python users already have: PyJWT and `cryptography`."""

from __future__ import annotations

import base64
import os
import time
from typing import Any, Dict, List, Tuple

import jwt
import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from nacoscrypt import (
    LocalKms,
    SecretKey,
    TokenManager,
    UnsupportedAlgorithm,
    decrypt_config,
    encrypt_config,
)
from support import FixedKeyKms

# ----- tokens: PyJWT -------------------------------------------------------------------------

KEY_BYTES = {"HS256": 32, "HS384": 48, "HS512": 64}


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_nacoscrypt_tokens_verify_with_pyjwt(alg: str) -> None:
    raw = os.urandom(KEY_BYTES[alg])
    manager = TokenManager(SecretKey.from_bytes(raw))
    assert manager.algorithm == alg
    token = manager.issue("nacos")
    claims = jwt.decode(token.token, raw, algorithms=[alg])
    assert claims == {"sub": "nacos", "exp": token.expires_at}
    assert jwt.get_unverified_header(token.token) == {"alg": alg}
    # A tampered one does not.
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token.token[:-2] + ("AA" if token.token[-2:] != "AA" else "BB"), raw,
                   algorithms=[alg])


@pytest.mark.parametrize("alg", ["HS256", "HS384", "HS512"])
def test_pyjwt_tokens_verify_with_nacoscrypt(alg: str) -> None:
    raw = os.urandom(KEY_BYTES[alg])
    manager = TokenManager(SecretKey.from_bytes(raw))
    exp = int(time.time()) + 600
    # Same claims, compact header: PyJWT adds "typ": "JWT" unless told not to.
    made = jwt.encode({"sub": "nacos", "exp": exp}, raw, algorithm=alg, headers={"typ": None})
    claims = manager.verify(made)
    assert (claims.sub, claims.exp) == ("nacos", exp)
    # Byte for byte what nacoscrypt issues for the same claims.
    assert made == manager.issue("nacos", now=exp - manager.validity).token
    # Extra claims are ignored, as the server does.
    extra = jwt.encode({"sub": "nacos", "exp": exp, "iat": exp - 600, "roles": ["a"]}, raw,
                       algorithm=alg, headers={"typ": None})
    assert manager.verify(extra).sub == "nacos"
    # PyJWT's default header has "typ": this library is deliberately strict about the header.
    with pytest.raises(UnsupportedAlgorithm):
        manager.verify(jwt.encode({"sub": "nacos", "exp": exp}, raw, algorithm=alg))


def test_pyjwt_sees_expiry_as_nacoscrypt_does() -> None:
    raw = os.urandom(32)
    manager = TokenManager(SecretKey.from_bytes(raw), validity=1)
    token = manager.issue("nacos", now=int(time.time()) - 10)
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(token.token, raw, algorithms=["HS256"])


# ----- configs: cryptography (SPEC 2.2 and 2.4) ----------------------------------------------


def lp(text: str) -> bytes:
    raw = text.encode()
    return len(raw).to_bytes(4, "big") + raw


def v1_aad(data_id: str, group: str, tenant: str, encrypted_data_key: str) -> bytes:
    return b"nacoscrypt:v1" + lp(tenant or "public") + lp(group) + lp(data_id) + lp(encrypted_data_key)


def ecb_encrypt(key: bytes, plaintext: str) -> str:
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plaintext.encode()) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode()


def ecb_decrypt(key: bytes, content: str) -> str:
    decryptor = Cipher(algorithms.AES(key), modes.ECB()).decryptor()
    padded = decryptor.update(base64.b64decode(content)) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return (unpadder.update(padded) + unpadder.finalize()).decode()


def gcm_content(key: bytes, plaintext: str, aad: bytes) -> str:
    nonce = os.urandom(12)
    return "nc1:" + base64.b64encode(nonce + AESGCM(key).encrypt(nonce, plaintext.encode(), aad)).decode()


def gcm_open(key: bytes, content: str, aad: bytes) -> str:
    assert content.startswith("nc1:")
    raw = base64.b64decode(content[4:])
    return AESGCM(key).decrypt(raw[:12], raw[12:], aad).decode()


TEXT = "spring.datasource.password=p@ss&w0rd\nü中文 " * 40
CASES: List[Tuple[str, int]] = [("cipher-kms-aes-256-db.properties", 32), ("cipher-kms-aes-128-app.yaml", 16)]


@pytest.mark.parametrize("data_id,key_len", CASES)
def test_nacos_format_both_ways_with_aes_ecb(data_id: str, key_len: int) -> None:
    key = os.urandom(key_len)
    kms = FixedKeyKms(key)
    stored = encrypt_config(kms, data_id=data_id, group="g", content=TEXT, key_id="alias/k")
    assert ecb_decrypt(key, stored.content) == TEXT
    theirs = ecb_encrypt(key, TEXT)
    assert theirs == stored.content  # ECB: deterministic
    assert decrypt_config(kms, data_id=data_id, group="g", content=theirs,
                          encrypted_data_key="fixed:alias/k") == TEXT


@pytest.mark.parametrize("data_id,key_len", CASES)
@pytest.mark.parametrize("tenant", ["", "ns中"])
def test_v1_format_both_ways_with_aes_gcm(data_id: str, key_len: int, tenant: str) -> None:
    key = os.urandom(key_len)
    kms = FixedKeyKms(key)
    stored = encrypt_config(kms, data_id=data_id, group="g", tenant=tenant, content=TEXT,
                            key_id="alias/k", format="v1")
    aad = v1_aad(data_id, "g", tenant, stored.encrypted_data_key)
    assert gcm_open(key, stored.content, aad) == TEXT
    theirs = gcm_content(key, TEXT, aad)
    assert decrypt_config(kms, data_id=data_id, group="g", tenant=tenant, content=theirs,
                          encrypted_data_key=stored.encrypted_data_key) == TEXT


def parse_keyring(text: str) -> Dict[str, bytes]:
    """version id → key bytes (SPEC 2.4), parsed independently of the library."""
    keys = {}
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            _, _, version, key = line.split()
            keys[version] = base64.b64decode(key)
    return keys


def kms_aad(context: Dict[str, str]) -> bytes:
    return b"nacoscrypt:kms:v1" + b"".join(lp(k) + lp(context[k]) for k in sorted(context))


def open_blob(keys: Dict[str, bytes], blob: str, context: Dict[str, str]) -> bytes:
    raw = base64.b64decode(blob)
    version, iv, sealed = raw[:36].decode(), raw[36:48], raw[48:]
    return AESGCM(keys[version]).decrypt(iv, sealed, kms_aad(context))


def seal_blob(keys: Dict[str, bytes], version: str, plaintext: bytes, context: Dict[str, str]) -> str:
    iv = os.urandom(12)
    sealed = AESGCM(keys[version]).encrypt(iv, plaintext, kms_aad(context))
    return base64.b64encode(version.encode() + iv + sealed).decode()


@pytest.mark.parametrize("fmt", ["nacos", "v1"])
@pytest.mark.parametrize("data_id", ["cipher-kms-aes-256-db.properties", "cipher-kms-aes-128-x", "cipher-token.json"])
def test_local_keyring_blobs_both_ways(
    local_kms_vectors: Dict[str, Any], fmt: str, data_id: str
) -> None:
    kms = LocalKms.from_string(local_kms_vectors["keyring"])
    keys = parse_keyring(local_kms_vectors["keyring"])
    primary = kms.primary_version("alias/nacos-test")
    assert primary is not None
    group, tenant = "payments", ""
    context = {} if fmt == "nacos" else {"dataId": data_id, "group": group, "tenant": "public"}
    text = TEXT[:5000] if data_id == "cipher-token.json" else TEXT

    # nacoscrypt → cryptography
    stored = encrypt_config(kms, data_id=data_id, group=group, tenant=tenant, content=text,
                            key_id="alias/nacos-test", format="v1" if fmt == "v1" else "nacos")
    if data_id == "cipher-token.json":
        blob = stored.content[4:] if fmt == "v1" else stored.content
        assert open_blob(keys, blob, context).decode() == text
    else:
        data_key = open_blob(keys, stored.encrypted_data_key, context)
        assert len(data_key) == (32 if "256" in data_id else 16)
        if fmt == "nacos":
            assert ecb_decrypt(data_key, stored.content) == text
        else:
            assert gcm_open(data_key, stored.content,
                            v1_aad(data_id, group, tenant, stored.encrypted_data_key)) == text

    # cryptography → nacoscrypt
    if data_id == "cipher-token.json":
        blob = seal_blob(keys, primary, text.encode(), context)
        content, edk = ("nc1:" + blob if fmt == "v1" else blob), ""
    else:
        data_key = os.urandom(32 if "256" in data_id else 16)
        edk = seal_blob(keys, primary, data_key, context)
        if fmt == "nacos":
            content = ecb_encrypt(data_key, text)
        else:
            content = gcm_content(data_key, text, v1_aad(data_id, group, tenant, edk))
    assert decrypt_config(kms, data_id=data_id, group=group, tenant=tenant, content=content,
                          encrypted_data_key=edk) == text
