"""nacoscrypt: Nacos-compatible config encryption and access tokens, on the libnacoscrypt core.

- ``encrypt_config`` / ``decrypt_config``: encrypted configuration (SPEC 2) in the ``nacos``
  format every Nacos client reads, or the authenticated ``v1`` format, with ``LocalKms`` (a
  keyring file) or any object with the three KMS methods (see ``Kms``).
- ``SecretKey``, ``TokenManager``, ``TokenCache``, ``ServerIdentity``: Nacos access tokens
  (SPEC 3), byte for byte as the Nacos server issues them.

Every error is a ``NacosCryptError``; messages never contain key material or plaintext.
"""

from nacoscrypt._kms_protocol import Kms
from nacoscrypt._native import (
    AccessToken,
    AliyunInstanceKms,
    AliyunKms,
    AuthSettings,
    Claims,
    ConfigError,
    ContentTooLarge,
    DecryptionError,
    EmptyContent,
    EncryptedConfig,
    FileError,
    InvalidArgument,
    InvalidClaims,
    InvalidKey,
    InvalidSignature,
    InvalidToken,
    KeyringError,
    KeyringPermissionError,
    KmsError,
    LocalKms,
    MalformedToken,
    NacosCryptError,
    NotEncryptedDataId,
    SecretKey,
    ServerIdentity,
    SettingsError,
    TokenCache,
    TokenExpired,
    TokenManager,
    UnsupportedAlgorithm,
    __version__,
    decrypt_config,
    encrypt_config,
    needs_refresh,
    refresh_at_ms,
)

__all__ = [
    "AccessToken",
    "AliyunInstanceKms",
    "AliyunKms",
    "AuthSettings",
    "Claims",
    "ConfigError",
    "ContentTooLarge",
    "DecryptionError",
    "EmptyContent",
    "EncryptedConfig",
    "FileError",
    "InvalidArgument",
    "InvalidClaims",
    "InvalidKey",
    "InvalidSignature",
    "InvalidToken",
    "KeyringError",
    "KeyringPermissionError",
    "Kms",
    "KmsError",
    "LocalKms",
    "MalformedToken",
    "NacosCryptError",
    "NotEncryptedDataId",
    "SecretKey",
    "ServerIdentity",
    "SettingsError",
    "TokenCache",
    "TokenExpired",
    "TokenManager",
    "UnsupportedAlgorithm",
    "decrypt_config",
    "encrypt_config",
    "needs_refresh",
    "refresh_at_ms",
]
