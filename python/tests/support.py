"""Helpers of the tests: the spec's vectors and KMS objects written in Python, as users write them."""

from __future__ import annotations

import base64
import json
import os
import threading
from pathlib import Path
from typing import Any, Dict, List, Tuple

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VECTORS = Path(__file__).resolve().parents[2] / "core" / "tests" / "vectors"

# The two publicly known keys of the Nacos documentation (SPEC 3.1).
PUBLIC_KEY_256 = "VGhpc0lzTXlDdXN0b21TZWNyZXRLZXkwMTIzNDU2Nzg="
PUBLIC_KEY_384 = "SecretKey012345678901234567890123456789012345678901234567890123456789"

SPEC_LEN = {"AES_256": 32, "AES_128": 16}


def load_vectors(name: str) -> Dict[str, Any]:
    """A vector file of the spec, as copied into core/tests/vectors/."""
    with open(VECTORS / name, encoding="utf-8") as f:
        data: Dict[str, Any] = json.load(f)
    return data


def context_aad(context: Dict[str, str]) -> bytes:
    """A stable encoding of the context, bound as AAD (any injective encoding will do)."""
    out = b"test-kms"
    for name in sorted(context):
        for part in (name, context[name]):
            raw = part.encode()
            out += len(raw).to_bytes(4, "big") + raw
    return out


class AesGcmKms:
    """A small but real KMS on `cryptography`: one AES-256-GCM master key per key id."""

    def __init__(self, *key_ids: str) -> None:
        self.keys = {key_id: AESGCM.generate_key(bit_length=256) for key_id in key_ids}
        self.calls: List[Tuple[str, Dict[str, str]]] = []
        self._lock = threading.Lock()

    def _record(self, method: str, context: Dict[str, str]) -> None:
        assert isinstance(context, dict)
        with self._lock:
            self.calls.append((method, dict(context)))

    def generate_data_key(self, key_id: str, spec: str, context: Dict[str, str]) -> Tuple[bytes, str]:
        self._record("generate_data_key", context)
        key = os.urandom(SPEC_LEN[spec])
        return key, self.encrypt(key_id, key, context, record=False)

    def encrypt(
        self, key_id: str, plaintext: bytes, context: Dict[str, str], record: bool = True
    ) -> str:
        if record:
            self._record("encrypt", context)
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[key_id]).encrypt(nonce, plaintext, context_aad(context))
        return key_id + ":" + base64.b64encode(nonce + sealed).decode()

    def decrypt(self, blob: str, context: Dict[str, str]) -> bytes:
        self._record("decrypt", context)
        key_id, _, body = blob.partition(":")
        raw = base64.b64decode(body)
        return AESGCM(self.keys[key_id]).decrypt(raw[:12], raw[12:], context_aad(context))


class FixedKeyKms:
    """Hands out one fixed data key (for the raw-key vectors of config-nacos-ecb.json)."""

    def __init__(self, key: bytes) -> None:
        self.key = key
        self.contexts: List[Dict[str, str]] = []

    def generate_data_key(self, key_id: str, spec: str, context: Dict[str, str]) -> Tuple[bytes, str]:
        assert SPEC_LEN[spec] == len(self.key)
        self.contexts.append(context)
        return self.key, "fixed:" + key_id

    def encrypt(self, key_id: str, plaintext: bytes, context: Dict[str, str]) -> str:
        raise AssertionError("the envelope scheme never asks the KMS to encrypt content")

    def decrypt(self, blob: str, context: Dict[str, str]) -> bytes:
        self.contexts.append(context)
        return self.key
