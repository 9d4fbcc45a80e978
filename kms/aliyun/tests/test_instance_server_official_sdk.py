"""The loopback KMS 3.0 instance server (server/instance_test_server.py) against the OFFICIAL SDKs.

Why: the Rust tests of the instance client in kms/aliyun trust this server to behave as a KMS
instance does. This file proves it with the official clients themselves: alibabacloud-dkms-gcs's
sdk.client.Client (raw protobuf API) and the transfer client of alibabacloud-kms-python-sdk (the
OpenAPI-style requests Java/Go/Python apps send to an instance), both run through
server/instance_oracle.py, which the Rust tests use too.

    PY=$(bash scripts/aliyun-instance-test-env.sh | tail -n 1)
    $PY -m pytest kms/aliyun/tests/test_instance_server_official_sdk.py -q

Everything binds 127.0.0.1. Calls that must not share TLS state (wrong CA) run the oracle CLI in a
child process: TeaCore caches one requests Session per https://host:port.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import http.client
import json
import os
import select
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

# Only in build/venv-dkms: `pytest kms/aliyun/tests` in build/venv-aliyun (scripts/test-all.sh)
# collects this file too, and must skip it rather than fail on the import.
pytest.importorskip("openapi_util.protobuf.api_pb2",
                    reason="the dkms-gcs SDK lives in build/venv-dkms (scripts/aliyun-instance-test-env.sh)")
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pyOpenSSL's PKCS#12 API

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER_DIR = os.path.join(HERE, "server")
SERVER = os.path.join(SERVER_DIR, "instance_test_server.py")
ORACLE = os.path.join(SERVER_DIR, "instance_oracle.py")
sys.path.insert(0, SERVER_DIR)

import instance_oracle  # noqa: E402
from openapi_util.client import Client as DkmsUtil  # noqa: E402
from openapi_util.protobuf import api_pb2  # noqa: E402

MIGRATION = "x-kms-migrationkeyversionid"
ADVANCE = [False, True]


# ---- fixtures -------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def server() -> Iterator[Dict[str, str]]:
    """One server for the whole session; it exits when we close its stdin."""
    tmp = tempfile.mkdtemp(prefix="instance-test-server-")
    proc = subprocess.Popen([sys.executable, SERVER, "--dir", tmp], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=None)
    assert proc.stdout is not None and proc.stdin is not None
    ready, _, _ = select.select([proc.stdout], [], [], 30)
    if not ready:
        proc.kill()
        pytest.fail("instance test server did not print its ready line in 30 s")
    info: Dict[str, str] = json.loads(proc.stdout.readline().decode("utf-8"))
    try:
        yield info
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.terminate()
            proc.wait(timeout=5)


def control(server: Dict[str, str], method: str, path: str, data: Any = None) -> Any:
    body = json.dumps(data).encode() if data is not None else None
    req = urllib.request.Request(server["control"] + path, data=body, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read().decode())


@pytest.fixture(autouse=True)
def clean(server: Dict[str, str]) -> Iterator[None]:
    control(server, "POST", "/reset", {})
    yield
    control(server, "POST", "/reset", {})


def requests_log(server: Dict[str, str]) -> List[Dict[str, Any]]:
    return control(server, "GET", "/requests")["requests"]


def base(server: Dict[str, str], which: str = "good", **kw: Any) -> Dict[str, Any]:
    d = {"endpoint": server["instance"], "ca": server["ca"],
         "client_key_file": server["client_key_%s" % which],
         "password_file": server["client_key_%s_password" % which], "key_id": "alias/test"}
    d.update(kw)
    return d


def oracle(cmd: str, inp: Dict[str, Any]) -> Dict[str, Any]:
    return instance_oracle.run(cmd, inp)


def oracle_cli(cmd: str, inp: Dict[str, Any]) -> Dict[str, Any]:
    """In a fresh process (own TLS sessions)."""
    out = subprocess.run([sys.executable, ORACLE, cmd], input=json.dumps(inp).encode(),
                         stdout=subprocess.PIPE, timeout=60, check=True)
    return json.loads(out.stdout.decode())


def current_version(server: Dict[str, str], key_id: str) -> str:
    keys = control(server, "GET", "/keys")["keys"]
    return next(k["current_version"] for k in keys if k["key_id"] == key_id)


TEST_KEY = "key-test-0000-0000-0000-000000000002"


# ---- signatures -----------------------------------------------------------------------------

def test_sign_oracle_matches_private_key(server: Dict[str, str]) -> None:
    headers = {"content-sha256": "ABC", "content-type": "application/x-protobuf",
               "date": "Thu, 06 Feb 2020 07:32:54 GMT", "x-kms-apiname": "Encrypt",
               "x-kms-apiversion": "dkms-gcs-0.2", "x-kms-signaturemethod": "RSA_PKCS1_SHA_256",
               "x-kms-acccesskeyid": "KAAP.x", MIGRATION: " v1 ", "host": "h", "accept": "a"}
    sts = oracle("sign", {"headers": headers})["string_to_sign_sdk"]
    assert sts == ("POST\nABC\napplication/x-protobuf\nThu, 06 Feb 2020 07:32:54 GMT\n"
                   "x-kms-acccesskeyid:KAAP.x\nx-kms-apiname:Encrypt\nx-kms-apiversion:dkms-gcs-0.2\n"
                   "x-kms-migrationkeyversionid:v1\nx-kms-signaturemethod:RSA_PKCS1_SHA_256\n/")
    out = oracle("sign", {"string_to_sign": sts, "client_key_file": server["client_key_good"],
                          "password_file": server["client_key_good_password"]})
    assert out["key_id"] == server["client_key_good_id"]
    with open(server["client_key_good_pem"], "rb") as f:
        key = serialization.load_pem_private_key(f.read(), None)
    mine = base64.b64encode(key.sign(sts.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()
    assert out["signature"] == "Bearer " + mine


def test_legacy_pkcs12_client_key_works(server: Dict[str, str]) -> None:
    out = oracle("transfer_encrypt", base(server, "legacy", plaintext="legacy"))
    assert "error" not in out, out
    assert oracle("transfer_decrypt", base(server, ciphertext_blob=out["CiphertextBlob"]))["Plaintext"] == "legacy"


def _raw_request(server: Dict[str, str], api: str, body: bytes, *, sign_headers: Optional[Dict[str, str]] = None,
                 extra: Optional[Dict[str, str]] = None, date: Optional[str] = None,
                 sha: Optional[str] = None, key_id: Optional[str] = None) -> Tuple[int, Any, Dict[str, str]]:
    """A request built by hand like the SDK does, signed with clientKey_good.pem."""
    headers = {"accept": "application/x-protobuf", "content-type": "application/x-protobuf",
               "host": server["instance"], "date": date or email.utils.formatdate(usegmt=True),
               "x-kms-apiversion": "dkms-gcs-0.2", "x-kms-apiname": api,
               "x-kms-signaturemethod": "RSA_PKCS1_SHA_256",
               "x-kms-acccesskeyid": key_id or server["client_key_good_id"],
               "content-sha256": sha or hashlib.sha256(body).hexdigest().upper()}
    headers.update(sign_headers or {})
    sts = DkmsUtil.get_string_to_sign("POST", "/", headers, None)
    with open(server["client_key_good_pem"], "rb") as f:
        key = serialization.load_pem_private_key(f.read(), None)
    headers["authorization"] = "Bearer " + base64.b64encode(
        key.sign(sts.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()
    headers.update(extra or {})
    host, port = server["instance"].split(":")
    ctx = ssl.create_default_context(cafile=server["ca"])
    conn = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=10)
    conn.request("POST", "/", body=body, headers=headers)
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    if resp.status != 200:
        err = api_pb2.Error()
        err.ParseFromString(data)
        return resp.status, err, dict(resp.getheaders())
    return resp.status, data, {k.lower(): v for k, v in resp.getheaders()}


def test_raw_request_accepted_and_version_header(server: Dict[str, str]) -> None:
    body = api_pb2.EncryptRequest(KeyId="alias/test", Plaintext=b"hi").SerializeToString()
    status, data, headers = _raw_request(server, "Encrypt", body)
    assert status == 200
    assert headers["content-type"] == "application/x-protobuf"
    assert headers[MIGRATION] == current_version(server, TEST_KEY)
    resp = api_pb2.EncryptResponse()
    resp.ParseFromString(data)
    assert resp.KeyId == TEST_KEY and len(resp.Iv) == 12 and len(resp.CiphertextBlob) == 2 + 16


@pytest.mark.parametrize("case,status,code,message", [
    ("sha", 400, "InvalidParam", "The Param Content-Sha256 is invalid."),
    ("date", 400, "InvalidParam", "The Param Date is invalid."),
    ("signature", 400, "InvalidParam", "The Param Authorization is invalid."),
    ("unsigned_header", 400, "InvalidParam", "The Param Authorization is invalid."),
    ("unknown_client_key", 401, "Unauthorized", None),
    ("api", 400, "InvalidParam", "The Param ApiName is invalid."),
])
def test_raw_request_refused(server: Dict[str, str], case: str, status: int, code: str,
                             message: Optional[str]) -> None:
    body = api_pb2.EncryptRequest(KeyId="alias/test", Plaintext=b"hi").SerializeToString()
    kw: Dict[str, Any] = {}
    api = "Encrypt"
    if case == "sha":
        kw["sha"] = hashlib.sha256(b"other").hexdigest().upper()
    elif case == "date":
        kw["date"] = email.utils.formatdate(time.time() - 16 * 60, usegmt=True)
    elif case == "signature":
        kw["extra"] = {"authorization": "Bearer " + base64.b64encode(b"\0" * 256).decode()}
    elif case == "unsigned_header":  # x-kms-* headers are signed: adding one breaks the signature
        kw["extra"] = {MIGRATION: current_version(server, TEST_KEY)}
    elif case == "unknown_client_key":
        kw["key_id"] = "KAAP.00000000-0000-0000-0000-000000000000"
    elif case == "api":
        api = "Nope"
    got_status, err, _ = _raw_request(server, api, body, **kw)
    assert (got_status, err.ErrorCode, err.StatusCode) == (status, code, status)
    if message:
        assert err.ErrorMessage == message
    assert err.RequestId
    assert requests_log(server)[-1]["code"] == code


def test_lowercase_sha_refused(server: Dict[str, str]) -> None:
    body = api_pb2.EncryptRequest(KeyId="alias/test", Plaintext=b"hi").SerializeToString()
    status, err, _ = _raw_request(server, "Encrypt", body, sha=hashlib.sha256(body).hexdigest())
    assert (status, err.ErrorCode) == (400, "InvalidParam")


# ---- the transfer client --------------------------------------------------------------------

@pytest.mark.parametrize("advance", ADVANCE)
@pytest.mark.parametrize("context", [None, {"b": "1", "a": "ünïcode x"}])
def test_transfer_generate_data_key_then_decrypt(server: Dict[str, str], advance: bool,
                                                 context: Optional[Dict[str, str]]) -> None:
    gen = oracle("transfer_generate_data_key", base(server, advance=advance, context=context))
    assert "error" not in gen, gen
    assert gen["KeyId"] == TEST_KEY
    assert gen["KeyVersionId"] == current_version(server, TEST_KEY)
    assert len(base64.b64decode(gen["Plaintext"])) == 32
    blob = base64.b64decode(gen["CiphertextBlob"])
    # base64(version id || iv || ct||tag), ct = the encryption of the base64 TEXT of the data key
    assert blob[:36].decode() == gen["KeyVersionId"]
    assert len(blob) == 36 + 12 + len(gen["Plaintext"]) + 16
    dec = oracle("transfer_decrypt", base(server, advance=advance, context=context,
                                          ciphertext_blob=gen["CiphertextBlob"]))
    assert dec["Plaintext"] == gen["Plaintext"] and dec["KeyVersionId"] == gen["KeyVersionId"]
    assert dec["KeyId"] == TEST_KEY
    wrong = oracle("transfer_decrypt", base(server, advance=advance, context={"b": "2"},
                                            ciphertext_blob=gen["CiphertextBlob"]))
    assert wrong["error"]["code"] == "InvalidParameter" and wrong["error"]["status"] == 400
    apis = [r["api_name"] for r in requests_log(server)]
    prefix = "Advance" if advance else ""
    assert apis == [prefix + "GenerateDataKey", prefix + "Encrypt", prefix + "Decrypt", prefix + "Decrypt"]
    assert all(r["signature_ok"] for r in requests_log(server))


def test_transfer_aes128_key_spec(server: Dict[str, str]) -> None:
    gen = oracle("transfer_generate_data_key", base(server, key_spec="AES_128"))
    assert len(base64.b64decode(gen["Plaintext"])) == 16


@pytest.mark.parametrize("advance", ADVANCE)
@pytest.mark.parametrize("context", [None, {"k": "v"}])
def test_transfer_encrypt_then_decrypt(server: Dict[str, str], advance: bool,
                                       context: Optional[Dict[str, str]]) -> None:
    text = "nacos config ✓ " * 20
    enc = oracle("transfer_encrypt", base(server, advance=advance, context=context, plaintext=text))
    assert "error" not in enc, enc
    assert base64.b64decode(enc["CiphertextBlob"])[:36].decode() == enc["KeyVersionId"]
    dec = oracle("transfer_decrypt", base(server, advance=advance, context=context,
                                          ciphertext_blob=enc["CiphertextBlob"]))
    assert dec["Plaintext"] == text
    no_ctx = oracle("transfer_decrypt", base(server, advance=advance, ciphertext_blob=enc["CiphertextBlob"],
                                             context={"other": "x"} if context is None else None))
    assert no_ctx["error"]["code"] == "InvalidParameter"


def test_transfer_low_version_wire_format(server: Dict[str, str]) -> None:
    """What the Java/Go-style transfer sends: Aad = the context JSON text verbatim, Decrypt with
    the version in the (signed) request header and NO KeyId."""
    enc = oracle("transfer_encrypt", base(server, plaintext="x", context={"b": "1", "a": "2"}))
    dec = oracle("transfer_decrypt", base(server, ciphertext_blob=enc["CiphertextBlob"],
                                          context={"b": "1", "a": "2"}))
    assert dec["Plaintext"] == "x"
    # Key order matters: the Aad bytes are the JSON text as serialised.
    swapped = oracle("transfer_decrypt", base(server, ciphertext_blob=enc["CiphertextBlob"],
                                              context={"a": "2", "b": "1"}))
    assert swapped["error"]["code"] == "InvalidParameter"
    log = requests_log(server)
    assert log[0]["api_name"] == "Encrypt" and not log[0]["migration_header"]
    assert log[1]["api_name"] == "Decrypt" and log[1]["migration_header"]
    assert log[1]["migration_key_version_id"] == enc["KeyVersionId"] and log[1]["key_id"] is None
    # And the raw SDK with Aad = that exact JSON text decrypts it too.
    blob = base64.b64decode(enc["CiphertextBlob"])
    raw = oracle("dkms_decrypt", base(server, key_id=None, headers={MIGRATION: blob[:36].decode()},
                                      iv_b64=base64.b64encode(blob[36:48]).decode(),
                                      ciphertext_blob_b64=base64.b64encode(blob[48:]).decode(),
                                      aad_b64=base64.b64encode(b'{"b":"1","a":"2"}').decode()))
    assert base64.b64decode(raw["Plaintext"]) == b"x"


def test_blobs_cross_between_advance_and_low_version_without_context(server: Dict[str, str]) -> None:
    enc = oracle("transfer_encrypt", base(server, plaintext="cross", advance=False))
    dec = oracle("transfer_decrypt", base(server, ciphertext_blob=enc["CiphertextBlob"], advance=True))
    assert dec["Plaintext"] == "cross"
    enc = oracle("transfer_encrypt", base(server, plaintext="cross2", advance=True))
    dec = oracle("transfer_decrypt", base(server, ciphertext_blob=enc["CiphertextBlob"], advance=False))
    assert dec["Plaintext"] == "cross2"


def test_rotation_old_blobs_still_decrypt(server: Dict[str, str]) -> None:
    control(server, "POST", "/keys", {"key_id": "key-rot", "aliases": ["alias/rot"]})
    old = oracle("transfer_encrypt", base(server, key_id="alias/rot", plaintext="old"))
    control(server, "POST", "/keys", {"key_id": "key-rot", "rotate": True})
    new = oracle("transfer_encrypt", base(server, key_id="alias/rot", plaintext="new"))
    assert old["KeyVersionId"] != new["KeyVersionId"] == current_version(server, "key-rot")
    for blob, text in ((old["CiphertextBlob"], "old"), (new["CiphertextBlob"], "new")):
        assert oracle("transfer_decrypt", base(server, ciphertext_blob=blob))["Plaintext"] == text
    # raw SDK without the version header: KeyId + Iv, every version is tried
    raw = oracle("dkms_encrypt", base(server, key_id="alias/rot", plaintext_b64=base64.b64encode(b"r").decode()))
    control(server, "POST", "/keys", {"key_id": "key-rot", "rotate": True})
    dec = oracle("dkms_decrypt", base(server, key_id="key-rot", iv_b64=raw["Iv"], ciphertext_blob_b64=raw["CiphertextBlob"]))
    assert base64.b64decode(dec["Plaintext"]) == b"r" and dec["KeyVersionId"] == raw["KeyVersionId"]
    control(server, "POST", "/keys", {"key_id": "key-rot", "delete": True})


def test_disabled_and_unknown_keys(server: Dict[str, str]) -> None:
    control(server, "POST", "/keys", {"key_id": "key-off", "aliases": ["alias/off"]})
    enc = oracle("transfer_encrypt", base(server, key_id="alias/off", plaintext="x"))
    control(server, "POST", "/keys", {"key_id": "key-off", "state": "Disabled"})
    assert oracle("transfer_encrypt", base(server, key_id="alias/off", plaintext="x"))["error"]["code"] == "Forbidden.KeyNotEnabled"
    assert oracle("transfer_decrypt", base(server, ciphertext_blob=enc["CiphertextBlob"]))["error"]["code"] == "Forbidden.KeyNotEnabled"
    control(server, "POST", "/keys", {"key_id": "key-off", "delete": True})
    err = oracle("transfer_decrypt", base(server, ciphertext_blob=enc["CiphertextBlob"]))["error"]
    assert (err["code"], err["message"], err["status"]) == ("Forbidden.KeyNotFound", "The specified Key is not found.", 404)
    assert oracle("transfer_encrypt", base(server, key_id="alias/nope", plaintext="x"))["error"]["code"] == "Forbidden.KeyNotFound"


# ---- the raw dkms-gcs client ----------------------------------------------------------------

def test_dkms_raw_encrypt_decrypt(server: Dict[str, str]) -> None:
    aad = base64.b64encode(b"any bytes \x00\xff").decode()
    enc = oracle("dkms_encrypt", base(server, plaintext_b64=base64.b64encode(b"\x00raw\xff").decode(), aad_b64=aad))
    assert "error" not in enc, enc
    assert enc["KeyId"] == TEST_KEY and enc["Algorithm"] == "AES_GCM"
    assert enc["KeyVersionId"] == current_version(server, TEST_KEY)
    assert len(base64.b64decode(enc["Iv"])) == 12
    # with KeyId, no version header (what a raw SDK user sends)
    dec = oracle("dkms_decrypt", base(server, iv_b64=enc["Iv"], ciphertext_blob_b64=enc["CiphertextBlob"], aad_b64=aad))
    assert base64.b64decode(dec["Plaintext"]) == b"\x00raw\xff" and dec["KeyVersionId"] == enc["KeyVersionId"]
    # with the version header only
    dec = oracle("dkms_decrypt", base(server, key_id=None, headers={MIGRATION: enc["KeyVersionId"]},
                                      iv_b64=enc["Iv"], ciphertext_blob_b64=enc["CiphertextBlob"], aad_b64=aad))
    assert base64.b64decode(dec["Plaintext"]) == b"\x00raw\xff"
    bad = oracle("dkms_decrypt", base(server, iv_b64=enc["Iv"], ciphertext_blob_b64=enc["CiphertextBlob"]))
    assert bad["error"]["code"] == "InvalidParameter" and bad["error"]["status"] == 400
    neither = oracle("dkms_decrypt", base(server, key_id=None, iv_b64=enc["Iv"], ciphertext_blob_b64=enc["CiphertextBlob"]))
    assert neither["error"]["code"] == "InvalidParam"


def test_dkms_raw_generate_data_key(server: Dict[str, str]) -> None:
    gen = oracle("dkms_generate_data_key", base(server, number_of_bytes=24))
    assert len(base64.b64decode(gen["Plaintext"])) == 24 and gen["KeyVersionId"]
    dec = oracle("dkms_decrypt", base(server, iv_b64=gen["Iv"], ciphertext_blob_b64=gen["CiphertextBlob"]))
    assert dec["Plaintext"] == gen["Plaintext"]
    assert oracle("dkms_generate_data_key", base(server, number_of_bytes=2000))["error"]["code"] == "InvalidParam"


# ---- ClientKeys and TLS ---------------------------------------------------------------------

def test_expired_client_key(server: Dict[str, str]) -> None:
    err = oracle("transfer_encrypt", base(server, "expired", plaintext="x"))["error"]
    assert (err["code"], err["status"]) == ("Forbidden.ClientKeyExpired", 401)
    entry = requests_log(server)[-1]
    assert entry["client_key_id"] == server["client_key_expired_id"] and entry["signature_ok"] is True


def test_foreign_client_key(server: Dict[str, str]) -> None:
    err = oracle("transfer_encrypt", base(server, "foreign", plaintext="x"))["error"]
    # the instance answers Unauthorized; the transfer client renames it
    assert (err["code"], err["status"]) == ("InvalidAccessKeyId.NotFound", 401)
    err = oracle("dkms_encrypt", base(server, "foreign", plaintext_b64="eA=="))["error"]
    assert (err["code"], err["status"]) == ("Unauthorized", 401)


def test_wrong_password(server: Dict[str, str]) -> None:
    inp = base(server, plaintext="x")
    inp.pop("password_file")
    inp["password"] = "not-the-password"
    err = oracle("transfer_encrypt", inp)["error"]
    assert err["exception"] == "Error" and "mac verify failure" in err["message"].lower()
    assert requests_log(server) == []  # nothing was sent


def test_wrong_ca_fails_in_fresh_process(server: Dict[str, str]) -> None:
    out = oracle_cli("transfer_encrypt", base(server, ca=server["other_ca"], plaintext="x", autoretry=False))
    assert "certificate verify failed" in out["error"]["message"].lower() or "ssl" in out["error"]["message"].lower()
    out = oracle_cli("transfer_encrypt", base(server, plaintext="x", autoretry=False))
    assert "error" not in out, out


# ---- faults ---------------------------------------------------------------------------------

def fault(server: Dict[str, str], **kw: Any) -> None:
    control(server, "POST", "/faults", [kw])


def test_fault_throttle_retried_by_sdk(server: Dict[str, str]) -> None:
    fault(server, kind="throttle", count=1)
    out = oracle("transfer_encrypt", base(server, plaintext="x"))
    assert "error" not in out, out
    log = requests_log(server)
    assert [(r["status"], r["code"], r["fault"]) for r in log] == [(429, "Rejected.Throttling", "throttle"), (200, None, None)]


def test_fault_throttle_without_retry(server: Dict[str, str]) -> None:
    fault(server, kind="throttle", count=1)
    err = oracle("transfer_encrypt", base(server, plaintext="x", autoretry=False))["error"]
    assert (err["code"], err["message"], err["status"]) == ("Rejected.Throttling", "QPS Limit Exceeded", 429)


@pytest.mark.parametrize("kind,status,code", [("unavailable", 503, "ServiceUnavailableTemporary"),
                                               ("internal", 500, "InternalFailure")])
def test_fault_server_errors_not_retried(server: Dict[str, str], kind: str, status: int, code: str) -> None:
    fault(server, kind=kind, count=1, action="Encrypt")
    err = oracle("transfer_encrypt", base(server, plaintext="x"))["error"]
    assert (err["code"], err["status"]) == (code, status)
    assert len(requests_log(server)) == 1


def test_fault_slow(server: Dict[str, str]) -> None:
    fault(server, kind="slow", seconds=0.3)
    t0 = time.monotonic()
    assert "error" not in oracle("transfer_encrypt", base(server, plaintext="x"))
    assert time.monotonic() - t0 >= 0.3
    fault(server, kind="slow", seconds=1.5)
    err = oracle("transfer_encrypt", base(server, plaintext="x", autoretry=False, read_timeout_ms=500))["error"]
    assert err["code"] == "SDK.ReadTimeout"


def test_fault_hang(server: Dict[str, str]) -> None:
    fault(server, kind="hang", seconds=2)
    err = oracle("transfer_encrypt", base(server, plaintext="x", autoretry=False, read_timeout_ms=500))["error"]
    assert err["code"] == "SDK.ReadTimeout"


@pytest.mark.parametrize("kind", ["reset", "truncated"])
def test_fault_connection_errors(server: Dict[str, str], kind: str) -> None:
    fault(server, kind=kind, count=1)
    err = oracle("dkms_encrypt", base(server, plaintext_b64="eA==", autoretry=False))["error"]
    assert err["exception"] == "UnretryableException" and err["inner_exception"] == "RetryError"
    # with the SDK's default retries, one fault is absorbed
    fault(server, kind=kind, count=1)
    assert "error" not in oracle("dkms_encrypt", base(server, plaintext_b64="eA=="))


def test_fault_garbage(server: Dict[str, str]) -> None:
    fault(server, kind="garbage")
    err = oracle("transfer_encrypt", base(server, plaintext="x"))["error"]
    assert err["exception"] == "DecodeError"


def test_fault_oversized(server: Dict[str, str]) -> None:
    fault(server, kind="oversized", bytes=2 << 20)
    out = oracle("dkms_encrypt", base(server, plaintext_b64="eA=="))
    # a well-formed protobuf of 2 MiB: the SDK takes it (an unknown field), with no ciphertext
    # and no version header; the transfer client then refuses it
    assert out.get("CiphertextBlob", "") == "" and out["KeyVersionId"] is None
    fault(server, kind="oversized", bytes=2 << 20)
    err = oracle("transfer_encrypt", base(server, plaintext="x"))["error"]
    assert "response headers" in err["message"]


def test_fault_action_filter_and_counts(server: Dict[str, str]) -> None:
    fault(server, kind="internal", count=2, action="Decrypt")
    enc = oracle("transfer_encrypt", base(server, plaintext="x"))
    assert "error" not in enc
    for _ in range(2):
        assert oracle("transfer_decrypt", base(server, ciphertext_blob=enc["CiphertextBlob"]))["error"]["code"] == "InternalFailure"
    assert oracle("transfer_decrypt", base(server, ciphertext_blob=enc["CiphertextBlob"]))["Plaintext"] == "x"
    assert control(server, "GET", "/faults")["faults"] == []
