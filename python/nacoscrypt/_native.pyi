"""Type stubs of the extension module ``nacoscrypt._native`` (checked by ``mypy.stubtest``)."""

import sys
from collections.abc import Callable, Iterable, Mapping
from os import PathLike
from pathlib import Path
from typing import Any, Literal, Protocol, final

from nacoscrypt._kms_protocol import Kms

if sys.version_info >= (3, 13):
    from warnings import deprecated

__all__ = [
    "__version__",
    "NacosCryptError",
    "InvalidArgument",
    "InvalidKey",
    "InvalidToken",
    "MalformedToken",
    "UnsupportedAlgorithm",
    "InvalidSignature",
    "InvalidClaims",
    "TokenExpired",
    "ConfigError",
    "NotEncryptedDataId",
    "EmptyContent",
    "ContentTooLarge",
    "DecryptionError",
    "KmsError",
    "KeyringError",
    "KeyringPermissionError",
    "SettingsError",
    "FileError",
    "LoginError",
    "_error_classes",
    "LocalKms",
    "AliyunKms",
    "AliyunInstanceKms",
    "AwsKms",
    "Pkcs11Kms",
    "EncryptedConfig",
    "encrypt_config",
    "decrypt_config",
    "diagnose_config",
    "migrate_config",
    "read_export",
    "write_export",
    "SecretKey",
    "TokenManager",
    "AccessToken",
    "Claims",
    "TokenCache",
    "ServerIdentity",
    "AuthSettings",
    "refresh_at_ms",
    "needs_refresh",
    "TokenKeeper",
    "Revocations",
    "AuthAudit",
    "auth_audit",
]

__version__: str

_Algorithm = Literal["HS256", "HS384", "HS512"]
_Format = Literal["nacos", "v1"]
_StrPath = str | PathLike[str]
_StrObjMapping = Mapping[str, object]

class _StrItems(Protocol):
    """A mapping of str to str, or anything else with such ``.items()`` (an
    ``email.message.Message``, a web framework's headers)."""

    def items(self) -> Iterable[tuple[str, str]]: ...

# ----- exceptions ---------------------------------------------------------------------------
# Declared once in python/src/errors.rs; tests/test_errors.py checks that these classes (and
# __all__ above, and nacoscrypt/__init__.py) list exactly the ones the module registers.

class NacosCryptError(Exception):
    """Base class of every error raised by nacoscrypt."""

    kind: str
    """The core's stable error name (``"expired"``, ``"authentication_failed"``, ...)."""

class InvalidArgument(NacosCryptError):
    """An argument is out of its domain: also an ``int`` outside the signed 64-bit range and a
    ``str`` holding a lone surrogate, for every argument. An argument of the wrong type (a
    mapping that is not one, context items that are not pairs of ``str``) raises ``TypeError``."""
class InvalidKey(NacosCryptError): ...

class InvalidToken(NacosCryptError):
    nacos_message: str
    """What the Nacos server answers in this case (``"token expired!"``, ...)."""

class MalformedToken(InvalidToken): ...
class UnsupportedAlgorithm(InvalidToken): ...
class InvalidSignature(InvalidToken): ...
class InvalidClaims(InvalidToken): ...
class TokenExpired(InvalidToken): ...
class ConfigError(NacosCryptError): ...
class NotEncryptedDataId(ConfigError): ...
class EmptyContent(ConfigError): ...
class ContentTooLarge(ConfigError): ...
class DecryptionError(ConfigError): ...
class KmsError(ConfigError):
    # Set when a key service (Alibaba Cloud KMS, ...) answered with an error or could not be
    # reached; absent for a KMS object's own exception (then see __cause__).
    service: str
    operation: str
    code: str
    request_id: str | None
    http_status: int | None
    attempts: int
class KeyringError(NacosCryptError): ...
class KeyringPermissionError(KeyringError): ...
class SettingsError(NacosCryptError): ...
class FileError(NacosCryptError): ...
class LoginError(NacosCryptError): ...

def _error_classes() -> dict[str, type[NacosCryptError]]: ...

# ----- configuration ------------------------------------------------------------------------

@final
class LocalKms:
    """The local KMS: a keyring file or text (SPEC 2.4). Never exposes key bytes."""

    @staticmethod
    def from_file(path: _StrPath) -> LocalKms: ...
    @staticmethod
    def from_string(text: str) -> LocalKms: ...
    @staticmethod
    def create(path: _StrPath, key_id: str) -> LocalKms: ...
    def rotate(self, key_id: str, *, create: bool = False) -> str: ...
    def reload(self) -> bool: ...
    def key_ids(self) -> list[str]: ...
    def versions(self, key_id: str) -> list[str]: ...
    def primary_version(self, key_id: str) -> str | None: ...
    @property
    def path(self) -> Path | None: ...
    # The KMS interface (so a LocalKms is a `Kms`): `spec` is "AES_256" or "AES_128", others
    # raise InvalidArgument.
    def generate_data_key(
        self, key_id: str, spec: str, context: _StrItems | None = None
    ) -> tuple[bytes, str]: ...
    def encrypt(self, key_id: str, plaintext: bytes, context: _StrItems | None = None) -> str: ...
    def decrypt(self, blob: str, context: _StrItems | None = None) -> bytes: ...

@final
class AliyunKms:
    """Alibaba Cloud KMS (SPEC 5.1): the OpenAPI with the official credential kinds."""

    def __new__(
        cls,
        *,
        endpoint: str | None = None,
        region: str | None = None,
        vpc: bool = False,
        access_key_id: str | None = None,
        access_key_secret: str | None = None,
        security_token: str | None = None,
        role_arn: str | None = None,
        role_session_name: str | None = None,
        sts_endpoint: str | None = None,
        ram_role_name: str | None = None,
        metadata_endpoint: str | None = None,
        ca_pem: str | None = None,
        ca_file: _StrPath | None = None,
        credentials_ca_pem: str | None = None,
        key_id: str | None = None,
        signature: Literal["v3", "v2"] = "v3",
        cache: Literal["off", "fallback", "first"] = "off",
        connect_timeout: float = 5.0,
        request_timeout: float = 10.0,
        max_attempts: int = 4,
        max_total: float = 20.0,
    ) -> AliyunKms: ...
    @staticmethod
    def from_properties(text: str) -> AliyunKms: ...
    @staticmethod
    def from_mapping(mapping: _StrItems) -> AliyunKms: ...
    def generate_data_key(
        self, key_id: str, spec: str, context: _StrItems | None = None
    ) -> tuple[bytes, str]: ...
    def encrypt(self, key_id: str, plaintext: bytes, context: _StrItems | None = None) -> str: ...
    def decrypt(self, blob: str, context: _StrItems | None = None) -> bytes: ...
    def check(self, key_id: str = "") -> dict[str, str | None]: ...
    def stats(self) -> dict[str, int]: ...

@final
class AliyunInstanceKms:
    """A KMS 3.0 instance reached with a ClientKey (SPEC 5.2)."""

    def __new__(
        cls,
        *,
        endpoint: str,
        client_key_file: _StrPath | None = None,
        client_key_json: str | None = None,
        password_file: _StrPath | None = None,
        password_env: str | None = None,
        password: str | None = None,
        ca_pem: str | None = None,
        ca_file: _StrPath | None = None,
        key_id: str | None = None,
        cache: Literal["off", "fallback", "first"] = "off",
        connect_timeout: float = 5.0,
        request_timeout: float = 10.0,
        max_attempts: int = 4,
    ) -> AliyunInstanceKms: ...
    @staticmethod
    def from_properties(text: str) -> AliyunInstanceKms: ...
    def generate_data_key(
        self, key_id: str, spec: str, context: _StrItems | None = None
    ) -> tuple[bytes, str]: ...
    def encrypt(self, key_id: str, plaintext: bytes, context: _StrItems | None = None) -> str: ...
    def decrypt(self, blob: str, context: _StrItems | None = None) -> bytes: ...
    def stats(self) -> dict[str, int]: ...

@final
class AwsKms:
    """AWS KMS (SPEC 5.3): SigV4, the standard credential chain; blobs are base64 CiphertextBlobs."""

    def __new__(
        cls,
        *,
        region: str | None = None,
        endpoint: str | None = None,
        sts_endpoint: str | None = None,
        profile: str | None = None,
        credentials: Literal["default", "env", "profile", "web_identity", "container", "imds"] = "default",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        session_token: str | None = None,
        ca_pem: str | None = None,
        ca_file: _StrPath | None = None,
        key_id: str | None = None,
        cache: Literal["off", "fallback", "first"] = "off",
        connect_timeout: float = 5.0,
        request_timeout: float = 10.0,
        max_attempts: int = 4,
        max_total: float = 20.0,
    ) -> AwsKms: ...
    @property
    def region(self) -> str: ...
    @property
    def endpoint(self) -> str: ...
    def generate_data_key(
        self, key_id: str, spec: str, context: _StrItems | None = None
    ) -> tuple[bytes, str]: ...
    def encrypt(self, key_id: str, plaintext: bytes, context: _StrItems | None = None) -> str: ...
    def decrypt(self, blob: str, context: _StrItems | None = None) -> bytes: ...
    def check(self, key_id: str = "") -> dict[str, str | None]: ...
    def stats(self) -> dict[str, int]: ...

@final
class Pkcs11Kms:
    """AES keys of a PKCS#11 token (an HSM, SoftHSM2), found by label (SPEC 5.3)."""

    def __new__(
        cls,
        *,
        module: _StrPath,
        token_label: str | None = None,
        slot: int | None = None,
        pin_file: _StrPath | None = None,
        pin_env: str | None = None,
        key_label: str | None = None,
        max_idle_sessions: int = 16,
    ) -> Pkcs11Kms: ...
    @property
    def key_label(self) -> str | None: ...
    def generate_data_key(
        self, key_id: str, spec: str, context: _StrItems | None = None
    ) -> tuple[bytes, str]: ...
    def encrypt(self, key_id: str, plaintext: bytes, context: _StrItems | None = None) -> str: ...
    def decrypt(self, blob: str, context: _StrItems | None = None) -> bytes: ...
    def check(self, key_label: str = "") -> dict[str, str | int]: ...
    def stats(self) -> dict[str, int]: ...

@final
class EncryptedConfig:
    """An encrypted config as Nacos stores it."""

    def __new__(cls, content: str, encrypted_data_key: str) -> EncryptedConfig: ...
    @property
    def content(self) -> str: ...
    @property
    def encrypted_data_key(self) -> str: ...
    @property
    def format(self) -> _Format: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...

def encrypt_config(
    kms: LocalKms | Kms,
    *,
    data_id: str,
    group: str,
    content: str,
    key_id: str,
    tenant: str = "",
    format: _Format = "nacos",
) -> EncryptedConfig: ...
def decrypt_config(
    kms: LocalKms | Kms,
    *,
    data_id: str,
    group: str,
    content: str,
    encrypted_data_key: str,
    tenant: str = "",
) -> str: ...

# ----- doctor and migrate (issue 16) -------------------------------------------------------

_Scheme = Literal["keep", "kms-aes-256", "kms-aes-128", "direct"]
_Mode = Literal["rekey", "rewrap"]

def diagnose_config(
    *,
    data_id: str,
    group: str,
    content: str,
    encrypted_data_key: str = "",
    tenant: str = "",
    kms: LocalKms | AliyunKms | AliyunInstanceKms | AwsKms | Pkcs11Kms | Kms | None = None,
    plugin_server_secret: str | None = None,
) -> dict[str, object]:
    """Why a stored config will not decrypt: the report as a dict (never keys or plaintext)."""

def migrate_config(
    source: LocalKms | AliyunKms | AliyunInstanceKms | AwsKms | Pkcs11Kms | Kms | None,
    target: LocalKms | AliyunKms | AliyunInstanceKms | AwsKms | Pkcs11Kms | Kms,
    *,
    key_id: str,
    data_id: str,
    group: str,
    content: str,
    encrypted_data_key: str = "",
    tenant: str = "",
    mode: _Mode = "rekey",
    scheme: _Scheme = "keep",
    format: _Format | None = None,
    plugin_server_secret: str | None = None,
    unescape_html: bool = False,
) -> dict[str, str | None] | None:
    """Re-encrypts one stored config; None when it is already in the target form."""

def read_export(data: bytes, *, tenant: str = "", sidecar: str | None = None) -> dict[str, Any]:
    """Reads a console export ZIP (v1 .meta.yml or v2 .metadata.yml); ``sidecar`` is JSON lines
    giving each config's encryptedDataKey. Keys: metadata, entries (dicts with dataId, group,
    tenant, content, encryptedDataKey, type, appName, desc, configTags), unrecognized,
    metadataOnly, sidecar (None, or filled/replaced/unused/conflicting)."""

def write_export(entries: Iterable[Mapping[str, str]], *, now: int | None = None) -> bytes:
    """Writes a v2 export ZIP whose .metadata.yml carries each entry's encryptedDataKey."""

# ----- tokens -------------------------------------------------------------------------------

@final
class SecretKey:
    """A token secret key, decoded as the Nacos server decodes it. Never printed."""

    @staticmethod
    def from_base64(text: str, *, allow_publicly_known: bool = False) -> SecretKey: ...
    @staticmethod
    def from_bytes(data: bytes, *, allow_publicly_known: bool = False) -> SecretKey: ...
    @staticmethod
    def generate() -> SecretKey: ...
    @property
    def algorithm(self) -> _Algorithm: ...
    @property
    def bits(self) -> int: ...
    def to_base64(self) -> str: ...

@final
class AccessToken:
    """An issued token. ``repr`` never shows the token text."""

    @property
    def token(self) -> str: ...
    @property
    def ttl(self) -> int: ...
    @property
    def expires_at(self) -> int: ...
    @property
    def subject(self) -> str: ...
    def to_login_json(self, *, global_admin: bool = False, username: str | None = None) -> str: ...
    def __eq__(self, value: object, /) -> bool: ...
    __hash__: None  # type: ignore[assignment]

@final
class Claims:
    """The verified claims of a token."""

    def __new__(cls, sub: str, exp: int) -> Claims: ...
    @property
    def sub(self) -> str: ...
    @property
    def exp(self) -> int: ...
    def __eq__(self, value: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class TokenManager:
    """Issues and verifies Nacos access tokens; immutable, share it between threads freely."""

    def __new__(
        cls,
        secret: SecretKey | str,
        *,
        validity: int = 18000,
        leeway: int = 0,
        previous: Iterable[SecretKey | str] = (),
    ) -> TokenManager: ...
    def issue(self, subject: str, *, now: int | None = None) -> AccessToken: ...
    def verify(self, token: str, *, now: int | None = None) -> Claims: ...
    def verify_not_revoked(
        self, token: str, revocations: Revocations, *, now: int | None = None
    ) -> Claims: ...
    @property
    def algorithm(self) -> _Algorithm: ...
    @property
    def validity(self) -> int: ...
    @property
    def leeway(self) -> int: ...

@final
class TokenCache:
    """The server's token cache in front of a ``TokenManager``; thread-safe."""

    def __new__(cls, manager: TokenManager) -> TokenCache: ...
    def issue(self, username: str, *, now: int | None = None) -> AccessToken: ...
    # Deprecated (emits DeprecationWarning): use issue(username, now=...), Unix seconds.
    if sys.version_info >= (3, 13):
        @deprecated("use TokenCache.issue(username, now=...) (Unix seconds)")
        def login(self, username: str, *, now_ms: int | None = None) -> AccessToken: ...
    else:
        def login(self, username: str, *, now_ms: int | None = None) -> AccessToken: ...

    def verify(self, token: str, *, now: int | None = None) -> Claims: ...
    def set_revocations(self, revocations: Revocations) -> None: ...
    def invalidate_user(self, username: str) -> None: ...
    def clear(self) -> None: ...
    def evict_expired(self, *, now: int | None = None) -> None: ...
    @property
    def login_count(self) -> int: ...
    @property
    def verified_count(self) -> int: ...
    @property
    def manager(self) -> TokenManager: ...

@final
class ServerIdentity:
    """The peer-server header check. The value is never printed."""

    def __new__(
        cls,
        key: str,
        value: str,
        *,
        previous_values: Iterable[str] | None = None,
        allow_publicly_known: bool = False,
    ) -> ServerIdentity: ...
    @property
    def key(self) -> str: ...
    @property
    def previous_value_count(self) -> int: ...
    def matches(self, headers: _StrItems) -> bool: ...
    def matches_value(self, value: str) -> bool: ...

@final
class AuthSettings:
    """A cluster's token settings; the secret key and identity value are never exposed."""

    @staticmethod
    def from_properties(text: str, *, env: _StrItems | None = None) -> AuthSettings: ...
    @staticmethod
    def from_file(path: _StrPath) -> AuthSettings: ...
    @staticmethod
    def from_env(env: _StrItems | None = None) -> AuthSettings: ...
    @property
    def has_secret_key(self) -> bool: ...
    @property
    def expire_seconds(self) -> int: ...
    @property
    def cache_enabled(self) -> bool: ...
    @property
    def identity_key(self) -> str | None: ...
    def token_manager(self, *, allow_publicly_known: bool = False) -> TokenManager: ...
    def server_identity(self, *, allow_publicly_known: bool = False) -> ServerIdentity: ...

def refresh_at_ms(obtained_at_ms: int, ttl: int) -> int: ...
def needs_refresh(obtained_at_ms: int, ttl: int, *, now_ms: int | None = None) -> bool: ...

_LoginResponse = str | _StrObjMapping | tuple[str, int]

@final
class TokenKeeper:
    """The client's token: refreshed with jitter before the SDKs' refresh point, one login for
    many threads, one re-login after a 403 (then a backoff). Thread-safe; waits without the GIL.
    ``login`` returns the server's login response: its JSON text, a mapping with
    ``accessToken`` and ``tokenTtl``, or ``(token, ttl)``."""

    def __new__(
        cls,
        login: Callable[[], _LoginResponse],
        *,
        jitter_window: int | None = None,
        min_backoff_ms: int | None = None,
        max_backoff_ms: int | None = None,
    ) -> TokenKeeper: ...
    def token(self, *, now_ms: int | None = None) -> str: ...
    def forbidden(self, token: str, *, now_ms: int | None = None) -> bool: ...
    def clear(self) -> None: ...
    @property
    def login_count(self) -> int: ...
    @property
    def refresh_at_ms(self) -> int | None: ...
    @property
    def ttl(self) -> int | None: ...

@final
class Revocations:
    """Per-user "not before" times: tokens a user got earlier are refused (``InvalidClaims``)."""

    def __new__(cls) -> Revocations: ...
    def revoke_before(self, username: str, not_before: int) -> None: ...
    def revoke_now(self, username: str) -> None: ...
    def forget(self, username: str) -> None: ...
    def not_before(self, username: str) -> int | None: ...
    def purge(self, validity: int, *, now: int | None = None) -> None: ...
    def __len__(self) -> int: ...

@final
class AuthAudit:
    """What ``auth_audit`` found; never holds a secret."""

    @property
    def findings(self) -> list[dict[str, str]]: ...
    @property
    def errors(self) -> int: ...
    @property
    def warnings(self) -> int: ...
    @property
    def ok(self) -> bool: ...
    def passes(self, *, strict: bool = False) -> bool: ...
    def to_json(self) -> str: ...

def auth_audit(properties: str | None = None, *, env: _StrItems | None = None) -> AuthAudit: ...
