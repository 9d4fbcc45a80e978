"""nacoscrypt inside ``nacos-sdk-python`` v2: a config filter for its filter chain.

``nacos-sdk-python`` (PyPI; module ``v2.nacos``) runs every published and every received config
through a chain of filters (``IConfigFilter``: ``do_filter(param)``, ``get_order()``,
``get_filter_name()``). Its own encryption filter only knows Alibaba Cloud KMS with an access
key pair. :class:`NacosCryptFilter` does the same job with any nacoscrypt KMS (``LocalKms``,
``AliyunKms`` with RAM roles, STS, OIDC or a KMS 3.0 ``AliyunInstanceKms`` with a ClientKey, or any
object following :class:`nacoscrypt.Kms`), and writes what every Nacos client reads.

One line installs it in a client, replacing the SDK's own encryption filter if there is one::

    from v2.nacos import NacosConfigService
    import nacoscrypt
    from nacoscrypt.nacos_sdk import install

    config_service = await NacosConfigService.create_config_service(client_config)
    install(config_service, nacoscrypt.AliyunKms(region="cn-hangzhou"), key_id="alias/acs/mse")

From then on ``publish_config`` encrypts ``cipher-`` data IDs (the scheme by prefix, SPEC 2.1),
``get_config`` and config listeners receive plaintext, and every other data ID passes through
untouched.

Behaviour, compared with the SDK's own ``ConfigEncryptionFilter`` (3.2.0):

- Data IDs without the ``cipher-`` prefix, and blank content, pass through unchanged, as in the
  Java SDK and as the Python SDK's own (unused) ``_param_check`` intends. The Python SDK's filter
  raises ``NacosException`` ("dataId prefix should start with 'cipher-'") for them instead, so a
  client with its KMS switched on cannot read a single plain config.
- The master key is ``param.kms_key_id`` when set, else the filter's ``key_id`` (the SDK's
  default is ``alias/acs/mse``), exactly as the SDK chooses it.
- Failures raise nacoscrypt's own exceptions (``DecryptionError``, ``KmsError``, ...; all
  ``NacosCryptError``), never with key material or plaintext in the message.
- The ``v1`` format (AES-GCM bound to data ID, group and tenant) is available with
  ``format="v1"``; only nacoscrypt reads it. The tenant is the client's ``namespace_id``.
"""

from __future__ import annotations

from typing import Any, Literal, Optional, Protocol, Union

from nacoscrypt._kms_protocol import Kms
from nacoscrypt._native import (
    AliyunInstanceKms,
    AliyunKms,
    LocalKms,
    decrypt_config,
    encrypt_config,
)

__all__ = [
    "FILTER_NAME",
    "SDK_FILTER_NAME",
    "NacosCryptFilter",
    "install",
]

#: The name of :class:`NacosCryptFilter` in a filter chain.
FILTER_NAME = "nacoscryptConfigEncryptionFilter"
#: The name of the SDK's own encryption filter, which :func:`install` removes.
SDK_FILTER_NAME = "defaultConfigEncryptionFilter"
#: The master key the SDKs use when none is configured (SPEC 5.1).
DEFAULT_KEY_ID = "alias/acs/mse"

_REQUEST = "RequestType"
_RESPONSE = "ResponseType"
_CIPHER_PREFIX = "cipher-"

AnyKms = Union[LocalKms, AliyunKms, AliyunInstanceKms, Kms]


class ConfigParamLike(Protocol):
    """The fields of the SDK's ``ConfigParam`` that the filter reads and writes."""

    data_id: str
    group: str
    content: str
    encrypted_data_key: str
    kms_key_id: str
    usage_type: str


class NacosCryptFilter:
    """A ``nacos-sdk-python`` v2 config filter that encrypts on publish and decrypts on receive.

    ``kms`` is any nacoscrypt KMS; ``key_id`` the master key for configs whose ``kms_key_id`` is
    empty; ``format`` ``"nacos"`` (what every Nacos client reads) or ``"v1"``; ``tenant`` the
    namespace the configs belong to (:func:`install` takes the client's ``namespace_id``).
    ``order`` places it in the chain (the SDK's own encryption filter has order 0).

    >>> import nacoscrypt, tempfile, os
    >>> kms = nacoscrypt.LocalKms.create(os.path.join(tempfile.mkdtemp(), "k.json"), "app")
    >>> f = NacosCryptFilter(kms, key_id="app")
    >>> f.get_filter_name(), f.get_order()
    ('nacoscryptConfigEncryptionFilter', 0)
    """

    def __init__(
        self,
        kms: AnyKms,
        *,
        key_id: str = DEFAULT_KEY_ID,
        format: Literal["nacos", "v1"] = "nacos",
        tenant: str = "",
        order: int = 0,
    ) -> None:
        if format not in ("nacos", "v1"):
            raise ValueError(f"format must be 'nacos' or 'v1', not {format!r}")
        self._kms = kms
        self._key_id = key_id
        self._format: Literal["nacos", "v1"] = format
        self._tenant = tenant
        self._order = order

    @property
    def key_id(self) -> str:
        """The master key used when a config names none."""
        return self._key_id

    @property
    def tenant(self) -> str:
        """The namespace bound into ``v1`` configs."""
        return self._tenant

    def do_filter(self, param: ConfigParamLike) -> None:
        """Encrypts ``param`` in place when it is a request, decrypts it when it is a response.

        Anything but a ``cipher-`` data ID with non-blank content is left as it is.
        """
        data_id = param.data_id or ""
        content = param.content or ""
        if not data_id.startswith(_CIPHER_PREFIX) or not content.strip():
            return
        group = param.group or "DEFAULT_GROUP"
        if param.usage_type == _REQUEST:
            key_id = (param.kms_key_id or "").strip() or self._key_id
            encrypted = encrypt_config(
                self._kms, data_id=data_id, group=group, tenant=self._tenant,
                content=content, key_id=key_id, format=self._format,
            )
            param.content = encrypted.content
            param.encrypted_data_key = encrypted.encrypted_data_key
        elif param.usage_type == _RESPONSE:
            param.content = decrypt_config(
                self._kms, data_id=data_id, group=group, tenant=self._tenant,
                content=content, encrypted_data_key=param.encrypted_data_key or "",
            )

    def get_order(self) -> int:
        """The filter's place in the chain (lower runs first)."""
        return self._order

    def get_filter_name(self) -> str:
        """``"nacoscryptConfigEncryptionFilter"``: the chain keeps one filter per name."""
        return FILTER_NAME

    def __repr__(self) -> str:
        return (
            f"NacosCryptFilter(kms={type(self._kms).__name__}, key_id={self._key_id!r}, "
            f"format={self._format!r}, tenant={self._tenant!r})"
        )


def install(
    config_service: Any,
    kms: AnyKms,
    *,
    key_id: str = DEFAULT_KEY_ID,
    format: Literal["nacos", "v1"] = "nacos",
    tenant: Optional[str] = None,
) -> NacosCryptFilter:
    """Installs a :class:`NacosCryptFilter` in a ``NacosConfigService`` and returns it.

    The SDK's own encryption filter (and a filter installed by an earlier call) is removed first,
    so configs are encrypted exactly once. ``tenant`` defaults to the client's ``namespace_id``.
    Works on any object with a ``config_filter_chain_manager`` (the SDK's
    ``ConfigFilterChainManager``) or on such a manager itself.
    """
    manager = getattr(config_service, "config_filter_chain_manager", config_service)
    filters = getattr(manager, "config_filters", None)
    if filters is None or not hasattr(manager, "add_filter"):
        raise TypeError(
            "install() needs a nacos-sdk-python NacosConfigService or ConfigFilterChainManager, "
            f"not {type(config_service).__name__}"
        )
    if tenant is None:
        tenant = getattr(config_service, "namespace_id", "") or ""
    manager.config_filters = [
        f for f in filters if f.get_filter_name() not in (SDK_FILTER_NAME, FILTER_NAME)
    ]
    config_filter = NacosCryptFilter(kms, key_id=key_id, format=format, tenant=tenant)
    manager.add_filter(config_filter)
    return config_filter


def _register_with_sdk() -> None:
    """Makes ``NacosCryptFilter`` a virtual subclass of the SDK's ``IConfigFilter``."""
    try:
        from v2.nacos.config.filter.config_filter import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
            IConfigFilter,
        )
    except ImportError:
        return
    IConfigFilter.register(NacosCryptFilter)


_register_with_sdk()
