"""nacoscrypt.nacos_sdk inside the real nacos-sdk-python 3.2.0 (module ``v2.nacos``): its filter
chain, its ``ConfigParam`` objects, ``NacosConfigService.publish_config`` / ``get_config`` and
its listener path, with the gRPC transport replaced by an in-memory server (no server needed).
The cross-check against the SDK's own KMS plugins is in test_aliyun.py (it needs the loopback
Alibaba Cloud KMS server)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

import nacoscrypt
from nacoscrypt import LocalKms, NacosCryptError
from nacoscrypt.nacos_sdk import FILTER_NAME, SDK_FILTER_NAME, NacosCryptFilter, install
from support import AesGcmKms

if os.environ.get("NACOSCRYPT_REQUIRE_SERVERS"):
    import v2.nacos  # type: ignore[import-untyped]  # noqa: F401  (installed by scripts/test-python.sh: fail, never skip)
sdk = pytest.importorskip("v2.nacos")

from v2.nacos.common.client_config import KMSConfig  # type: ignore[import-untyped]  # noqa: E402
from v2.nacos.common.client_config_builder import ClientConfigBuilder  # type: ignore[import-untyped]  # noqa: E402
from v2.nacos.common.nacos_exception import NacosException  # type: ignore[import-untyped]  # noqa: E402
from v2.nacos.config.filter.config_encryption_filter import ConfigEncryptionFilter  # type: ignore[import-untyped]  # noqa: E402
from v2.nacos.config.filter.config_filter import ConfigFilterChainManager, IConfigFilter  # type: ignore[import-untyped]  # noqa: E402
from v2.nacos.config.model.config import SubscribeCacheData  # type: ignore[import-untyped]  # noqa: E402
from v2.nacos.config.model.config_param import ConfigParam, UsageType  # type: ignore[import-untyped]  # noqa: E402
from v2.nacos.config.nacos_config_service import NacosConfigService  # type: ignore[import-untyped]  # noqa: E402

CONTENT = "password=s3cret&<x>\n中文"
SCHEMES = ["cipher-kms-aes-256-db.properties", "cipher-kms-aes-128-app.yaml", "cipher-token.json"]


@pytest.fixture()
def kms(tmp_path: Path) -> LocalKms:
    return LocalKms.create(str(tmp_path / "keyring.json"), "alias/acs/mse")


class MemoryServer:
    """The two calls of ConfigGRPCClientProxy that publish_config / get_config make."""

    def __init__(self) -> None:
        self.stored: Dict[Tuple[str, str], Tuple[str, str]] = {}

    async def publish_config(self, param: Any) -> bool:
        self.stored[(param.group, param.data_id)] = (param.content, param.encrypted_data_key)
        return True

    async def query_config(self, data_id: str, group: str) -> Tuple[str, str]:
        return self.stored[(group, data_id)]


def client(tmp_path: Path, kms_enabled: bool) -> Tuple[Any, MemoryServer]:
    builder = (
        ClientConfigBuilder().server_address("127.0.0.1:1").namespace_id("ns-1")
        .log_dir(str(tmp_path / "logs")).cache_dir(str(tmp_path / "cache"))
    )
    if kms_enabled:
        builder = builder.kms_config(
            KMSConfig(enabled=True, endpoint="127.0.0.1:9", access_key="ak", secret_key="sk")
        )

    async def make() -> Any:
        return NacosConfigService(builder.build())

    service = asyncio.run(make())
    server = MemoryServer()
    service.grpc_client_proxy.publish_config = server.publish_config
    service.grpc_client_proxy.query_config = server.query_config
    return service, server


def names(service: Any) -> List[str]:
    return [f.get_filter_name() for f in service.config_filter_chain_manager.get_filters()]


def test_is_an_sdk_config_filter(kms: LocalKms) -> None:
    f = NacosCryptFilter(kms)
    assert isinstance(f, IConfigFilter)
    assert f.get_filter_name() == FILTER_NAME and f.get_order() == 0
    chain = ConfigFilterChainManager()
    chain.add_filter(f)
    chain.add_filter(NacosCryptFilter(kms))  # the chain keeps one filter per name
    assert chain.get_filters() == [f]
    assert "keyring" not in repr(f) and "LocalKms" in repr(f)


@pytest.mark.parametrize("data_id", SCHEMES)
def test_chain_encrypts_requests_and_decrypts_responses(kms: LocalKms, data_id: str) -> None:
    chain = ConfigFilterChainManager()
    chain.add_filter(NacosCryptFilter(kms, tenant="ns-1"))
    param = ConfigParam(data_id=data_id, group="G", content=CONTENT,
                        usage_type=UsageType.request_type.value)
    chain.do_filters(param)
    assert param.content != CONTENT
    # What any Nacos client reads: decrypt_config with the stored fields.
    assert nacoscrypt.decrypt_config(
        kms, data_id=data_id, group="G", tenant="ns-1", content=param.content,
        encrypted_data_key=param.encrypted_data_key,
    ) == CONTENT
    if data_id.startswith("cipher-kms-"):
        assert param.encrypted_data_key
    else:
        assert param.encrypted_data_key == ""
    back = ConfigParam(data_id=data_id, group="G", content=param.content,
                       encrypted_data_key=param.encrypted_data_key,
                       usage_type=UsageType.response_type.value)
    chain.do_filters(back)
    assert back.content == CONTENT


def test_kms_key_id_of_the_param_wins() -> None:
    kms = AesGcmKms("alias/default", "alias/other")
    f = NacosCryptFilter(kms, key_id="alias/default")
    for key_id, expected in (("alias/other", "alias/other:"), ("", "alias/default:"),
                             ("  ", "alias/default:")):
        param = ConfigParam(data_id="cipher-kms-aes-256-a", group="G", content="x",
                            kms_key_id=key_id, usage_type=UsageType.request_type.value)
        f.do_filter(param)
        assert param.encrypted_data_key.startswith(expected)
        direct = ConfigParam(data_id="cipher-a", group="G", content="x",
                             kms_key_id=key_id, usage_type=UsageType.request_type.value)
        f.do_filter(direct)
        assert direct.content.startswith(expected)


def test_v1_format_binds_the_namespace(kms: LocalKms) -> None:
    f = NacosCryptFilter(kms, format="v1", tenant="ns-1")
    param = ConfigParam(data_id="cipher-kms-aes-256-a", group="G", content=CONTENT,
                        usage_type=UsageType.request_type.value)
    f.do_filter(param)
    other = NacosCryptFilter(kms, tenant="ns-2")
    moved = ConfigParam(data_id="cipher-kms-aes-256-a", group="G", content=param.content,
                        encrypted_data_key=param.encrypted_data_key,
                        usage_type=UsageType.response_type.value)
    with pytest.raises(NacosCryptError):
        other.do_filter(moved)
    with pytest.raises(ValueError):
        NacosCryptFilter(kms, format="v2")  # type: ignore[arg-type]


@pytest.mark.parametrize("data_id", ["application.yaml", "cipherless", "Cipher-x"])
def test_non_cipher_data_ids_pass_through(kms: LocalKms, data_id: str) -> None:
    for usage in (UsageType.request_type.value, UsageType.response_type.value):
        param = ConfigParam(data_id=data_id, group="G", content=CONTENT, usage_type=usage)
        NacosCryptFilter(kms).do_filter(param)
        assert param.content == CONTENT and param.encrypted_data_key == ""


def test_the_sdks_own_filter_rejects_non_cipher_data_ids() -> None:
    """The difference the module docs state: the SDK 3.2.0 filter raises for plain configs."""
    config = ClientConfigBuilder().kms_config(
        KMSConfig(enabled=True, endpoint="127.0.0.1:9", access_key="ak", secret_key="sk")
    ).build()
    theirs = ConfigEncryptionFilter(config)
    param = ConfigParam(data_id="application.yaml", group="G", content="a=b",
                        usage_type=UsageType.response_type.value)
    with pytest.raises(NacosException):
        theirs.do_filter(param)


def test_blank_content_passes_through(kms: LocalKms) -> None:
    for content in ("", "  \n"):
        param = ConfigParam(data_id="cipher-kms-aes-256-a", group="G", content=content,
                            usage_type=UsageType.response_type.value)
        NacosCryptFilter(kms).do_filter(param)
        assert param.content == content


@pytest.mark.parametrize("kms_enabled", [False, True])
def test_publish_and_get_through_the_config_service(
    tmp_path: Path, kms: LocalKms, kms_enabled: bool
) -> None:
    service, server = client(tmp_path, kms_enabled)
    if kms_enabled:
        # The SDK added its own filter (which would call Alibaba Cloud KMS with an AK pair).
        assert names(service) == [SDK_FILTER_NAME]
    installed = install(service, kms)
    install(service, kms)  # idempotent: still one encryption filter
    assert names(service) == [FILTER_NAME]
    assert installed.tenant == "ns-1"

    async def run() -> Dict[str, str]:
        out: Dict[str, str] = {}
        for data_id in SCHEMES + ["application.yaml"]:
            param = ConfigParam(data_id=data_id, group="DEFAULT_GROUP", content=CONTENT)
            assert await service.publish_config(param)
            out[data_id] = await service.get_config(ConfigParam(data_id=data_id))
        return out

    got = asyncio.run(run())
    assert got == {data_id: CONTENT for data_id in SCHEMES + ["application.yaml"]}
    stored, key = server.stored[("DEFAULT_GROUP", SCHEMES[0])]
    assert stored != CONTENT and key
    assert server.stored[("DEFAULT_GROUP", "application.yaml")] == (CONTENT, "")


def test_listeners_receive_plaintext(tmp_path: Path, kms: LocalKms) -> None:
    service, server = client(tmp_path, kms_enabled=False)
    install(service, kms)
    received: List[Tuple[str, str, str, str]] = []

    async def listener(tenant: str, group: str, data_id: str, content: str) -> None:
        received.append((tenant, group, data_id, content))

    async def run() -> None:
        data_id = SCHEMES[0]
        await service.publish_config(ConfigParam(data_id=data_id, group="G", content=CONTENT))
        content, key = server.stored[("G", data_id)]
        cache = SubscribeCacheData(data_id, "G", "ns-1", content, "md5-0", key,
                                   service.config_filter_chain_manager)
        await cache.add_listener(listener)
        cache.md5 = "md5-1"  # the server pushed a change
        await cache.execute_listener()

    asyncio.run(run())
    assert received == [("ns-1", "G", SCHEMES[0], CONTENT)]


def test_failures_raise_nacoscrypt_errors(tmp_path: Path, kms: LocalKms) -> None:
    service, server = client(tmp_path, kms_enabled=False)
    install(service, kms)
    data_id = SCHEMES[0]

    async def publish_then_get() -> str:
        await service.publish_config(ConfigParam(data_id=data_id, group="G", content=CONTENT))
        result: str = await service.get_config(ConfigParam(data_id=data_id, group="G"))
        return result

    assert asyncio.run(publish_then_get()) == CONTENT
    content, key = server.stored[("G", data_id)]
    # Another keyring (a wrong or deleted master key): a clean error, nothing leaked.
    other = LocalKms.create(str(tmp_path / "other.json"), "alias/acs/mse")
    install(service, other)
    with pytest.raises(NacosCryptError) as info:
        asyncio.run(service.get_config(ConfigParam(data_id=data_id, group="G")))
    assert CONTENT not in str(info.value)
    # The data key lost on the way (the incident SPEC 6 describes).
    install(service, kms)
    server.stored[("G", data_id)] = (content, "")
    with pytest.raises(NacosCryptError):
        asyncio.run(service.get_config(ConfigParam(data_id=data_id, group="G")))
    # A corrupted body.
    server.stored[("G", data_id)] = (content[:-8] + "AAAAAAA=", key)
    with pytest.raises(NacosCryptError):
        asyncio.run(service.get_config(ConfigParam(data_id=data_id, group="G")))


def test_install_rejects_other_objects(kms: LocalKms) -> None:
    with pytest.raises(TypeError):
        install(object(), kms)
