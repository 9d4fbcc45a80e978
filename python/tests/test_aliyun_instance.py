"""nacoscrypt.AliyunInstanceKms against the loopback KMS instance API test server (started by
scripts/test-python.sh; its ready line is $ALIYUN_INSTANCE_JSON), with the official transfer
client as the oracle."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any, Dict

import pytest

from nacoscrypt import (
    AliyunInstanceKms,
    InvalidArgument,
    KmsError,
    NacosCryptError,
    SettingsError,
    decrypt_config,
    encrypt_config,
)

ROOT = Path(__file__).resolve().parents[2]

if "ALIYUN_INSTANCE_JSON" not in os.environ:
    if os.environ.get("NACOSCRYPT_REQUIRE_SERVERS"):
        raise RuntimeError("ALIYUN_INSTANCE_JSON is not set: run scripts/test-python.sh")
    pytest.skip("no KMS instance test server (run scripts/test-python.sh)", allow_module_level=True)

SERVER: Dict[str, str] = json.loads(os.environ["ALIYUN_INSTANCE_JSON"])
CA = Path(SERVER["ca"]).read_text()


def oracle(command: str, data: Dict[str, Any]) -> Dict[str, Any]:
    out = subprocess.run(
        [os.environ["ALIYUN_INSTANCE_PY"], str(ROOT / "kms/aliyun/tests/server/instance_oracle.py"),
         command],
        input=json.dumps(data), capture_output=True, text=True, check=True,
    ).stdout
    result: Dict[str, Any] = json.loads(out)
    return result


@pytest.fixture()
def kms() -> AliyunInstanceKms:
    return AliyunInstanceKms(
        endpoint=SERVER["instance"], client_key_file=SERVER["client_key_good"],
        password_file=SERVER["client_key_good_password"], ca_pem=CA,
    )


@pytest.mark.parametrize("data_id", ["cipher-kms-aes-256-a", "cipher-kms-aes-128-b", "cipher-c"])
def test_configs_round_trip(kms: AliyunInstanceKms, data_id: str) -> None:
    for fmt in ("nacos", "v1"):
        s = encrypt_config(kms, data_id=data_id, group="g", tenant="", content="pw=1&<x>",
                           key_id="alias/acs/mse", format=fmt)
        assert decrypt_config(kms, data_id=data_id, group="g", tenant="", content=s.content,
                              encrypted_data_key=s.encrypted_data_key) == "pw=1&<x>"


def test_blobs_both_ways_with_the_official_transfer_client(kms: AliyunInstanceKms) -> None:
    base = {"endpoint": SERVER["instance"], "ca": SERVER["ca"],
            "client_key_file": SERVER["client_key_good"],
            "password_file": SERVER["client_key_good_password"]}
    g = oracle("transfer_generate_data_key", {**base, "key_id": "alias/acs/mse",
                                              "key_spec": "AES_256", "context": {"a": "b"}})
    key, _ = kms.generate_data_key("alias/acs/mse", "AES_256", {"a": "b"})
    assert len(key) == 32
    theirs = oracle("transfer_encrypt", {**base, "key_id": "alias/test", "plaintext": "hi"})
    assert kms.decrypt(theirs["CiphertextBlob"]) == b"hi"
    ours = kms.encrypt("alias/test", "直接".encode())
    assert oracle("transfer_decrypt", {**base, "ciphertext_blob": ours})["Plaintext"] == "直接"
    assert g["Plaintext"]


def test_password_from_the_environment_and_properties(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CK_PASSWORD", Path(SERVER["client_key_good_password"]).read_text())
    kms = AliyunInstanceKms(endpoint=SERVER["instance"], client_key_file=SERVER["client_key_good"],
                            password_env="CK_PASSWORD", ca_file=SERVER["ca"])
    assert kms.decrypt(kms.encrypt("alias/acs/mse", b"x")) == b"x"
    props = (f"kmsEndpoint={SERVER['instance']}\nclientKeyFile={SERVER['client_key_good']}\n"
             "clientKeyPasswordFromEnvVariable=CK_PASSWORD\n"
             f"kmsCaFile={SERVER['ca']}\n")
    assert AliyunInstanceKms.from_properties(props).encrypt("alias/test", b"y")
    assert "PRIVATE" not in repr(kms)


def test_refusals() -> None:
    with pytest.raises(KmsError) as info:
        AliyunInstanceKms(endpoint=SERVER["instance"], client_key_file=SERVER["client_key_good"],
                          password="wrong", ca_pem=CA)
    assert info.value.code == "ClientKey"
    with pytest.raises(SettingsError):
        AliyunInstanceKms(endpoint=SERVER["instance"], client_key_file=SERVER["client_key_good"],
                          password_file=SERVER["client_key_good_password"])
    with pytest.raises(NacosCryptError):
        AliyunInstanceKms(endpoint="http://" + SERVER["instance"],
                          client_key_file=SERVER["client_key_good"],
                          password_file=SERVER["client_key_good_password"], ca_pem=CA)
    expired = AliyunInstanceKms(endpoint=SERVER["instance"],
                                client_key_file=SERVER["client_key_expired"],
                                password_file=SERVER["client_key_expired_password"], ca_pem=CA)
    with pytest.raises(KmsError) as info:
        expired.encrypt("alias/acs/mse", b"x")
    assert info.value.http_status == 401
    with pytest.raises(InvalidArgument):
        AliyunInstanceKms(endpoint=SERVER["instance"], client_key_file=SERVER["client_key_good"],
                          password_file=SERVER["client_key_good_password"], ca_pem=CA,
                          request_timeout=-1)
