"""nacoscrypt.AwsKms against the AWS test servers of kms/aws/tests/server (moto behind a TLS
front that checks every SigV4 signature with botocore), started once for this module, with
boto3 as the oracle: configs whose data key boto3 made open here, and ours open with boto3.

The Python with moto and boto3 is $NACOSCRYPT_AWS_PY (scripts/test-all.sh and
scripts/test-python.sh export it), else build/venv-aws (scripts/aws-test-env.sh). Without it the
module is skipped, unless $NACOSCRYPT_REQUIRE_SERVERS is set: then it fails."""

from __future__ import annotations

import base64
import json
import os
import select
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, Optional

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from nacoscrypt import (
    AwsKms,
    DecryptionError,
    InvalidArgument,
    KmsError,
    LocalKms,
    NacosCryptError,
    decrypt_config,
    diagnose_config,
    encrypt_config,
    migrate_config,
)

ROOT = Path(__file__).resolve().parents[2]
SERVER_DIR = ROOT / "kms" / "aws" / "tests" / "server"
REQUIRE = bool(os.environ.get("NACOSCRYPT_REQUIRE_SERVERS"))


def aws_python() -> Optional[str]:
    """The Python with moto and boto3, if there is one."""
    if os.environ.get("NACOSCRYPT_AWS_PY"):
        return os.environ["NACOSCRYPT_AWS_PY"]
    venv = ROOT / "build" / "venv-aws" / "bin" / "python"
    return str(venv) if venv.exists() else None


AWS_PY = aws_python()
if AWS_PY is None:
    if REQUIRE:
        raise RuntimeError(
            "no Python with moto and boto3 for the AWS test server: set NACOSCRYPT_AWS_PY or run "
            "scripts/aws-test-env.sh"
        )
    pytest.skip("no AWS test environment (run scripts/aws-test-env.sh)", allow_module_level=True)


@pytest.fixture(scope="module")
def server() -> Iterator[Dict[str, Any]]:
    """The AWS test servers, started once for the module; stopped by closing their stdin."""
    assert AWS_PY is not None
    with tempfile.TemporaryDirectory() as scratch:
        proc = subprocess.Popen(
            [AWS_PY, str(SERVER_DIR / "aws_test_server.py"), "--dir", scratch],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        assert proc.stdout is not None and proc.stdin is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        line = proc.stdout.readline() if ready else b""
        if not line:
            proc.kill()
            proc.wait()
            message = "the AWS test server did not start"
            if REQUIRE:
                pytest.fail(message)
            pytest.skip(message)
        info: Dict[str, Any] = json.loads(line)
        info["ca_pem"] = Path(info["ca"]).read_text()
        try:
            yield info
        finally:
            proc.stdin.close()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def control(server: Dict[str, Any], path: str, body: Any) -> Any:
    req = urllib.request.Request(
        server["control"] + path, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def oracle(server: Dict[str, Any], command: str, data: Dict[str, Any]) -> Dict[str, Any]:
    """boto3 (kms/aws/tests/server/aws_oracle.py), signing with the server's static key."""
    assert AWS_PY is not None
    out = subprocess.run(
        [AWS_PY, str(SERVER_DIR / "aws_oracle.py"), command],
        input=json.dumps({"endpoint": server["kms"], "ca": server["ca"], **data}),
        capture_output=True, text=True, check=True,
    ).stdout
    result: Dict[str, Any] = json.loads(out)
    return result


@pytest.fixture()
def kms(server: Dict[str, Any]) -> AwsKms:
    control(server, "/reset", {})
    return AwsKms(
        region="us-east-1", endpoint=server["kms"], ca_pem=server["ca_pem"],
        access_key_id=server["access_key_id"], secret_access_key=server["secret"],
        key_id="alias/nacos", request_timeout=5.0, max_total=10.0,
    )


def ecb_encrypt(key: bytes, text: str) -> str:
    """The `nacos` format's content, as the Nacos SDKs write it (SPEC 2.2)."""
    padder = padding.PKCS7(128).padder()
    raw = padder.update(text.encode()) + padder.finalize()
    enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()  # noqa: S305 (the Nacos format)
    return base64.b64encode(enc.update(raw) + enc.finalize()).decode()


def ecb_decrypt(key: bytes, content: str) -> str:
    dec = Cipher(algorithms.AES(key), modes.ECB()).decryptor()  # noqa: S305
    raw = dec.update(base64.b64decode(content)) + dec.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return (unpadder.update(raw) + unpadder.finalize()).decode()


DATA_IDS = ["cipher-kms-aes-256-db.properties", "cipher-kms-aes-128-app.yaml", "cipher-token.json"]
CONTENT = "spring.datasource.password=s3cret&<x>\n中文"


@pytest.mark.parametrize("data_id", DATA_IDS)
@pytest.mark.parametrize("fmt", ["nacos", "v1"])
def test_round_trips(kms: AwsKms, data_id: str, fmt: str) -> None:
    stored = encrypt_config(kms, data_id=data_id, group="DEFAULT_GROUP", tenant="prod",
                            content=CONTENT, key_id="", format=fmt)  # type: ignore[arg-type]
    assert stored.format == fmt
    assert decrypt_config(kms, data_id=data_id, group="DEFAULT_GROUP", tenant="prod",
                          content=stored.content,
                          encrypted_data_key=stored.encrypted_data_key) == CONTENT
    if fmt == "v1":
        with pytest.raises(DecryptionError):
            decrypt_config(kms, data_id=data_id, group="OTHER", tenant="prod",
                           content=stored.content, encrypted_data_key=stored.encrypted_data_key)


@pytest.mark.parametrize("spec,data_id", [("AES_256", DATA_IDS[0]), ("AES_128", DATA_IDS[1])])
def test_a_data_key_made_by_boto3_opens_here(server: Dict[str, Any], kms: AwsKms, spec: str,
                                             data_id: str) -> None:
    made = oracle(server, "generate_data_key", {"key_id": "alias/nacos", "spec": spec})
    key = base64.b64decode(made["plaintext_b64"])
    content = ecb_encrypt(key, CONTENT)
    assert decrypt_config(kms, data_id=data_id, group="DEFAULT_GROUP", content=content,
                          encrypted_data_key=made["blob_b64"]) == CONTENT
    # With the v1 context, boto3's blob opens only under that context.
    context = {"dataId": data_id, "group": "g", "tenant": "public"}
    made = oracle(server, "generate_data_key",
                  {"key_id": "alias/other", "spec": spec, "context": context})
    assert kms.decrypt(made["blob_b64"], context) == base64.b64decode(made["plaintext_b64"])
    with pytest.raises(DecryptionError):
        kms.decrypt(made["blob_b64"], {**context, "group": "h"})


def test_configs_we_write_open_with_boto3(server: Dict[str, Any], kms: AwsKms) -> None:
    # nacos format, envelope: boto3 unwraps the data key, the content is plain AES-ECB under it.
    stored = encrypt_config(kms, data_id=DATA_IDS[0], group="G", content=CONTENT,
                            key_id="alias/other")
    key = base64.b64decode(oracle(server, "decrypt", {"blob_b64": stored.encrypted_data_key})
                           ["plaintext_b64"])
    assert len(key) == 32 and ecb_decrypt(key, stored.content) == CONTENT
    # v1 envelope: the data key is wrapped under the config's context (empty tenant: public).
    v1 = encrypt_config(kms, data_id=DATA_IDS[1], group="G", content=CONTENT, key_id="",
                        format="v1")
    context = {"dataId": DATA_IDS[1], "group": "G", "tenant": "public"}
    key = base64.b64decode(oracle(server, "decrypt", {"blob_b64": v1.encrypted_data_key,
                                                      "context": context})["plaintext_b64"])
    assert len(key) == 16
    # The direct scheme: the content is AWS's blob of the text itself.
    direct = encrypt_config(kms, data_id=DATA_IDS[2], group="G", content=CONTENT, key_id="")
    assert direct.encrypted_data_key == ""
    text = base64.b64decode(oracle(server, "decrypt", {"blob_b64": direct.content})
                            ["plaintext_b64"])
    assert text.decode() == CONTENT
    # ... and one boto3 encrypted opens here.
    theirs = oracle(server, "encrypt", {"key_id": "alias/nacos",
                                        "plaintext_b64": base64.b64encode(CONTENT.encode()).decode()})
    assert decrypt_config(kms, data_id=DATA_IDS[2], group="G", content=theirs["blob_b64"],
                          encrypted_data_key="") == CONTENT


def test_kms_interface_check_stats_and_repr(server: Dict[str, Any], kms: AwsKms) -> None:
    key, blob = kms.generate_data_key("", "AES_128", {"dataId": "x"})
    assert len(key) == 16 and kms.decrypt(blob, {"dataId": "x"}) == key
    assert kms.decrypt(kms.encrypt("alias/other", b"hello", {"a": "b"}), {"a": "b"}) == b"hello"
    report = kms.check()
    assert report["provider"] == "static" and report["access_key_id"] == server["access_key_id"]
    assert report["region"] == "us-east-1" and str(report["key_id"]).startswith("arn:aws:kms:")
    assert kms.stats()["kms_calls"] >= 5
    assert (kms.region, kms.endpoint) == ("us-east-1", "https://" + server["kms"])
    text = repr(kms)
    assert text.startswith("AwsKms(region='us-east-1'") and server["access_key_id"] in text
    assert server["secret"] not in text and server["secret"] not in json.dumps(report)


def test_doctor_and_migrate_accept_it(kms: AwsKms, tmp_path: Path) -> None:
    local = LocalKms.create(tmp_path / "keyring", "alias/local")
    old = encrypt_config(local, data_id=DATA_IDS[0], group="G", content=CONTENT,
                         key_id="alias/local")
    moved = migrate_config(local, kms, key_id="alias/nacos", data_id=DATA_IDS[0], group="G",
                           content=old.content, encrypted_data_key=old.encrypted_data_key,
                           mode="rekey", format="v1")
    assert moved is not None
    assert decrypt_config(kms, data_id=DATA_IDS[0], group="G", content=str(moved["content"]),
                          encrypted_data_key=str(moved["encryptedDataKey"])) == CONTENT
    report = diagnose_config(data_id=DATA_IDS[0], group="G", content=str(moved["content"]),
                             encrypted_data_key=str(moved["encryptedDataKey"]), kms=kms)
    assert report["healthy"] is True
    broken = diagnose_config(data_id=DATA_IDS[0], group="OTHER", content=str(moved["content"]),
                             encrypted_data_key=str(moved["encryptedDataKey"]), kms=kms)
    assert broken["healthy"] is False


def test_service_errors(server: Dict[str, Any], kms: AwsKms) -> None:
    with pytest.raises(KmsError) as unknown:
        kms.encrypt("alias/no-such-key", b"x")
    assert unknown.value.kind == "unknown_key"
    with pytest.raises(InvalidArgument):
        AwsKms(region="us-east-1", endpoint=server["kms"], ca_pem=server["ca_pem"],
               access_key_id=server["access_key_id"],
               secret_access_key=server["secret"]).encrypt("", b"x")
    wrong = AwsKms(region="us-east-1", endpoint=server["kms"], ca_pem=server["ca_pem"],
                   access_key_id=server["access_key_id"], secret_access_key="not-the-secret",
                   max_attempts=1)
    with pytest.raises(KmsError) as refused:
        wrong.encrypt("alias/nacos", b"x")
    e = refused.value
    assert isinstance(e, NacosCryptError)
    assert e.code == "InvalidSignatureException" and e.http_status == 403
    assert "not-the-secret" not in str(e) and "not-the-secret" not in repr(wrong)


def test_throttling_is_retried_and_the_interpreter_is_released(server: Dict[str, Any],
                                                               kms: AwsKms) -> None:
    control(server, "/faults", [{"server": "kms", "kind": "throttle", "count": 2}])
    assert kms.decrypt(kms.encrypt("", b"again")) == b"again"
    assert kms.stats()["retries"] >= 2
    # While one call waits on a slow answer, other Python threads run.
    control(server, "/faults", [{"server": "kms", "kind": "slow", "seconds": 1.0, "count": 1}])
    ticks = 0
    done = threading.Event()

    def call() -> None:
        kms.encrypt("", b"slow")
        done.set()

    t = threading.Thread(target=call)
    t.start()
    while not done.is_set():
        ticks += 1
        time.sleep(0.01)
    t.join()
    assert ticks >= 30


def test_credentials_from_the_environment_and_a_profile(server: Dict[str, Any],
                                                        tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ["AWS_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
                 "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", "https://" + server["kms"])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", server["access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", server["secret"])
    kms = AwsKms(ca_pem=server["ca_pem"], key_id="alias/nacos")
    assert kms.check()["provider"] == "env"
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    creds = tmp_path / "credentials"
    creds.write_text(f"[nacos-test]\naws_access_key_id = {server['access_key_id']}\n"
                     f"aws_secret_access_key = {server['secret']}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    kms = AwsKms(ca_pem=server["ca_pem"], key_id="alias/nacos", profile="nacos-test")
    assert kms.check()["provider"] == "profile:nacos-test"
    kms = AwsKms(ca_pem=server["ca_pem"], key_id="alias/nacos", credentials="env",
                 max_attempts=1)
    with pytest.raises(KmsError):
        kms.encrypt("", b"x")


def test_a_wrong_endpoint_fails_within_the_time_bound(server: Dict[str, Any]) -> None:
    for endpoint in ["127.0.0.1:1", "192.0.2.1:443"]:
        kms = AwsKms(region="us-east-1", endpoint=endpoint, ca_pem=server["ca_pem"],
                     access_key_id="AKIDEXAMPLE", secret_access_key="secret",
                     connect_timeout=0.3, request_timeout=0.6, max_attempts=3, max_total=1.0)
        start = time.monotonic()
        with pytest.raises(KmsError):
            kms.encrypt("alias/nacos", b"x")
        assert time.monotonic() - start < 4.0


def test_bad_arguments(server: Dict[str, Any]) -> None:
    base: Dict[str, Any] = {"region": "us-east-1", "endpoint": server["kms"]}
    with pytest.raises(InvalidArgument):
        AwsKms(**base, credentials="bogus")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        AwsKms(**base, access_key_id="AKID")
    with pytest.raises(InvalidArgument):
        AwsKms(**base, session_token="t")
    with pytest.raises(InvalidArgument):
        AwsKms(**base, access_key_id="AKID", secret_access_key="s", credentials="imds")
    with pytest.raises(InvalidArgument):
        AwsKms(region="us-east-1", endpoint="http://127.0.0.1:1")
    with pytest.raises(InvalidArgument):
        AwsKms(**base, cache="sometimes")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        AwsKms(**base, request_timeout=0)
    with pytest.raises(KmsError):
        AwsKms(**base, ca_pem="not a certificate")
