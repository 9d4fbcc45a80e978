"""nacoscrypt.AliyunKms against the loopback Alibaba Cloud KMS test server (started by
scripts/test-python.sh through scripts/aliyun-server.sh; its ready line is $ALIYUN_SERVER_JSON),
with nacos-sdk-python's own KMS plugins as the oracle for configs both ways."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any, Dict

import pytest

from nacoscrypt import (
    AliyunKms,
    InvalidArgument,
    KmsError,
    NacosCryptError,
    decrypt_config,
    encrypt_config,
)

AK = "LTAI5tTestAccessKeyId"
SECRET = "TestAccessKeySecret0123456789abc"
ROOT = Path(__file__).resolve().parents[2]

if "ALIYUN_SERVER_JSON" not in os.environ:
    if os.environ.get("NACOSCRYPT_REQUIRE_SERVERS"):
        raise RuntimeError("ALIYUN_SERVER_JSON is not set: run scripts/test-python.sh")
    pytest.skip("no Alibaba Cloud KMS test server (run scripts/test-python.sh)", allow_module_level=True)

SERVER: Dict[str, str] = json.loads(os.environ["ALIYUN_SERVER_JSON"])
CA = Path(SERVER["ca"]).read_text()


def control(path: str, body: Any) -> Any:
    import urllib.request

    req = urllib.request.Request(
        SERVER["control"] + path, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def oracle(command: str, data: Dict[str, Any]) -> Dict[str, Any]:
    out = subprocess.run(
        [os.environ["ALIYUN_PY"], str(ROOT / "kms/aliyun/tests/server/oracle.py"), command],
        input=json.dumps(data), capture_output=True, text=True, check=True,
    ).stdout
    result: Dict[str, Any] = json.loads(out)
    return result


@pytest.fixture()
def kms() -> AliyunKms:
    control("/reset", {})
    return AliyunKms(
        endpoint=SERVER["kms"], ca_pem=CA, access_key_id=AK, access_key_secret=SECRET,
        request_timeout=3.0, max_total=5.0,
    )


@pytest.mark.parametrize(
    "data_id",
    ["cipher-kms-aes-256-db.properties", "cipher-kms-aes-128-app.yaml", "cipher-token.json"],
)
def test_configs_both_ways_with_nacos_sdk_python(kms: AliyunKms, data_id: str) -> None:
    content = "password=s3cret&<x>\n中文"
    base = {"endpoint": SERVER["kms"], "ca": SERVER["ca"], "access_key_id": AK,
            "access_key_secret": SECRET, "key_id": "alias/acs/mse", "data_id": data_id}
    theirs = oracle("nacos_encrypt", {**base, "content": content})
    assert decrypt_config(
        kms, data_id=data_id, group="DEFAULT_GROUP", tenant="", content=theirs["content"],
        encrypted_data_key=theirs["encrypted_data_key"],
    ) == content
    ours = encrypt_config(
        kms, data_id=data_id, group="DEFAULT_GROUP", tenant="", content=content,
        key_id="alias/acs/mse",
    )
    back = oracle("nacos_decrypt", {**base, "content": ours.content,
                                    "encrypted_data_key": ours.encrypted_data_key})
    assert back["content"] == content
    v1 = encrypt_config(kms, data_id=data_id, group="g", tenant="t", content=content,
                        key_id="alias/acs/mse", format="v1")
    assert decrypt_config(kms, data_id=data_id, group="g", tenant="t", content=v1.content,
                          encrypted_data_key=v1.encrypted_data_key) == content


@pytest.mark.parametrize(
    "data_id",
    ["cipher-kms-aes-256-db.properties", "cipher-kms-aes-128-app.yaml", "cipher-token.json"],
)
def test_nacos_sdk_filter_against_the_sdks_own_kms_plugins(kms: AliyunKms, data_id: str) -> None:
    """nacoscrypt.nacos_sdk's filter writes what nacos-sdk-python's KMS plugins read, and back."""
    pytest.importorskip("v2.nacos")
    from v2.nacos.config.model.config_param import (  # type: ignore[import-untyped]
        ConfigParam,
        UsageType,
    )

    from nacoscrypt.nacos_sdk import NacosCryptFilter

    content = "password=s3cret&<x>\n中文"
    config_filter = NacosCryptFilter(kms)
    base = {"endpoint": SERVER["kms"], "ca": SERVER["ca"], "access_key_id": AK,
            "access_key_secret": SECRET, "key_id": "alias/acs/mse", "data_id": data_id}
    published = ConfigParam(data_id=data_id, group="DEFAULT_GROUP", content=content,
                            usage_type=UsageType.request_type.value)
    config_filter.do_filter(published)
    back = oracle("nacos_decrypt", {**base, "content": published.content,
                                    "encrypted_data_key": published.encrypted_data_key})
    assert back["content"] == content
    theirs = oracle("nacos_encrypt", {**base, "content": content})
    received = ConfigParam(data_id=data_id, group="DEFAULT_GROUP", content=theirs["content"],
                           encrypted_data_key=theirs["encrypted_data_key"],
                           usage_type=UsageType.response_type.value)
    config_filter.do_filter(received)
    assert received.content == content


def test_kms_interface_and_check(kms: AliyunKms) -> None:
    key, blob = kms.generate_data_key("alias/acs/mse", "AES_128", {"dataId": "x"})
    assert len(key) == 16
    assert kms.decrypt(kms.encrypt("alias/test", b"hello", {"a": "b"}), {"a": "b"}) == b"hello"
    report = kms.check()
    assert report["provider"] == "static_ak" and report["access_key_id"] == AK
    assert SECRET not in repr(kms) and SECRET not in json.dumps(report)
    assert kms.stats()["kms_calls"] >= 4


def test_service_errors_carry_code_request_id_and_status(kms: AliyunKms) -> None:
    control("/faults", [{"server": "kms", "kind": "throttle", "count": 10}])
    with pytest.raises(KmsError) as info:
        kms.encrypt("alias/acs/mse", b"x")
    e = info.value
    assert isinstance(e, NacosCryptError)
    assert e.code == "Rejected.Throttling" and e.http_status == 429 and e.attempts == 4
    assert e.request_id and e.service == "Alibaba Cloud KMS" and e.operation == "Encrypt"
    assert SECRET not in str(e)
    control("/reset", {})
    with pytest.raises(KmsError) as info:
        kms.decrypt("bm90IGEgYmxvYg==")
    assert info.value.http_status == 400


def test_faults_are_retried(kms: AliyunKms) -> None:
    control("/faults", [{"server": "kms", "kind": "unavailable", "count": 2}])
    assert kms.decrypt(kms.encrypt("alias/acs/mse", b"x")) == b"x"
    assert kms.stats()["retries"] == 2


def test_from_properties_and_mapping() -> None:
    props = (f"kmsEndpoint={SERVER['kms']}\naccessKey={AK}\nsecretKey={SECRET}\n"
             f"keyId=alias/test\nkmsCaFile={SERVER['ca']}\n")
    kms = AliyunKms.from_properties(props)
    assert kms.check()["key_id"] == "alias/test"
    go = AliyunKms.from_mapping({"KMSConfig.Endpoint": SERVER["kms"], "AccessKey": AK,
                                 "SecretKey": SECRET, "CaContent": CA, "KmsKeyId": "alias/test"})
    assert go.check()["key_id"] == "alias/test"
    with pytest.raises(NacosCryptError):
        AliyunKms.from_mapping({"OpenKMS": "false", "RegionId": "cn-hangzhou"})


def test_bad_arguments_and_tls() -> None:
    with pytest.raises(InvalidArgument):
        AliyunKms(endpoint="http://" + SERVER["kms"])
    with pytest.raises(InvalidArgument):
        AliyunKms()
    with pytest.raises(InvalidArgument):
        AliyunKms(endpoint=SERVER["kms"], access_key_id=AK)
    with pytest.raises(InvalidArgument):
        AliyunKms(endpoint=SERVER["kms"], signature="v1")  # type: ignore[arg-type]
    wrong_ca = AliyunKms(endpoint=SERVER["kms"], ca_pem=Path(SERVER["other_ca"]).read_text(),
                         access_key_id=AK, access_key_secret=SECRET)
    with pytest.raises(KmsError) as info:
        wrong_ca.encrypt("alias/acs/mse", b"x")
    assert info.value.code == "Tls"
