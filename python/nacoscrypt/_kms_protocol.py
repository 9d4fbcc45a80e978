"""The KMS protocol: what `encrypt_config` and `decrypt_config` accept besides `LocalKms`."""

from __future__ import annotations

from typing import Dict, Protocol, Tuple, runtime_checkable

__all__ = ["Kms"]


@runtime_checkable
class Kms(Protocol):
    """Any key service (Alibaba Cloud KMS, AWS KMS, an HSM, ...), duck-typed (SPEC 2.3).

    ``context`` is the KMS encryption context: ``{}`` for the ``nacos`` format and
    ``{"dataId": ..., "group": ..., "tenant": ...}`` for ``v1``. An implementation must bind it
    to its ciphertexts (use it as AAD). An exception raised by a method surfaces as
    ``nacoscrypt.KmsError`` with the original exception as ``__cause__``.
    """

    def generate_data_key(
        self, key_id: str, spec: str, context: Dict[str, str]
    ) -> Tuple[bytes, str]:
        """A fresh data key of ``spec`` (``"AES_256"``: 32 bytes, ``"AES_128"``: 16 bytes)
        under the master key ``key_id``: ``(plaintext key, ciphertext blob)``."""
        ...

    def encrypt(self, key_id: str, plaintext: bytes, context: Dict[str, str]) -> str:
        """Encrypts ``plaintext`` under ``key_id``; returns the ciphertext blob."""
        ...

    def decrypt(self, blob: str, context: Dict[str, str]) -> bytes:
        """Decrypts a blob made by ``encrypt`` or ``generate_data_key`` under ``context``."""
        ...
