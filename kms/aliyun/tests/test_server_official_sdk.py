"""The loopback Alibaba Cloud test server (server/aliyun_test_server.py) against the OFFICIAL SDKs.

Why: the Rust, C and Python tests of kms/aliyun trust this server to behave as Alibaba Cloud KMS,
STS and the ECS metadata service do. This file proves it with the official clients themselves:
alibabacloud_kms20160120 (V3 and V2 signatures), alibabacloud_credentials (RAM role ARN, OIDC,
ECS RAM role, credentials URI providers) and nacos-sdk-python v2's KMS encryption plugins (run
through server/oracle.py, which the Rust tests use too).

    PY=$(bash scripts/aliyun-test-env.sh | tail -n 1)
    $PY -m pytest kms/aliyun/tests -q

Everything binds 127.0.0.1. TLS trust, as the official clients take it: Config(ca=PATH) for the
KMS client; the credential providers and nacos have no CA option, so they run in a child process
with SSL_CERT_FILE=ca.pem (setting it here would make this process trust the test CA everywhere
and spoil the wrong-CA tests).
"""

from __future__ import annotations

import base64
import json
import os
import select
import socket
import ssl
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from typing import Any, Dict, Iterator, List, Optional

import pytest
from alibabacloud_kms20160120 import models as kms_models
from alibabacloud_kms20160120.client import Client as KmsClient
from alibabacloud_tea_openapi import exceptions as openapi_exceptions
from alibabacloud_tea_openapi import models as openapi_models
from alibabacloud_tea_openapi.utils import Utils as OpenApiUtils

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER_DIR = os.path.join(HERE, "server")
SERVER = os.path.join(SERVER_DIR, "aliyun_test_server.py")
ORACLE = os.path.join(SERVER_DIR, "oracle.py")
AK, SECRET = "LTAI5tTestAccessKeyId", "TestAccessKeySecret0123456789abc"
SIGNATURES = ["v3", "v2"]

try:
    import v2.nacos  # noqa: F401
    HAVE_NACOS = True
except ImportError:  # nacos-sdk-python needs Python >= 3.10
    HAVE_NACOS = False


# ---- fixtures -------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def server() -> Iterator[Dict[str, str]]:
    """One server for the whole session; it exits when we close its stdin."""
    tmp = tempfile.mkdtemp(prefix="aliyun-test-server-")
    proc = subprocess.Popen([sys.executable, SERVER, "--dir", tmp], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=None)
    assert proc.stdout is not None and proc.stdin is not None
    ready, _, _ = select.select([proc.stdout], [], [], 30)
    if not ready:
        proc.kill()
        pytest.fail("test server did not print its ready line in 30 s")
    line = proc.stdout.readline().decode("utf-8")
    info: Dict[str, str] = json.loads(line)
    try:
        yield info
    finally:
        proc.stdin.close()  # EOF on stdin: the server exits by itself
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.terminate()
            proc.wait(timeout=5)


def control(info: Dict[str, str], method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode("utf-8")
    req = urllib.request.Request(info["control"] + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read().decode("utf-8"))


@pytest.fixture(autouse=True)
def fresh(server: Dict[str, str]) -> Iterator[None]:
    """Faults, request log and nonces cleared; default metadata and STS settings back."""
    control(server, "POST", "/reset", {})
    control(server, "POST", "/metadata", {"hardened": True, "token_put_fails": False,
                                          "role_name": "test-ecs-role", "lifetime_seconds": 3600})
    control(server, "POST", "/sts", {"lifetime_seconds": 3600})
    yield


def requests_log(info: Dict[str, str]) -> List[Dict[str, Any]]:
    return control(info, "GET", "/requests")["requests"]


def kms(info: Dict[str, str], signature: str = "v3", endpoint: Optional[str] = None,
        ak: str = AK, secret: str = SECRET, token: Optional[str] = None, credential: Any = None,
        ca: Optional[str] = None, read_timeout_ms: int = 10000) -> KmsClient:
    """The official KMS client; the test CA through Config(ca=...) (requests' verify=PATH)."""
    if credential is not None:
        cfg = openapi_models.Config(credential=credential)
    else:
        cfg = openapi_models.Config(access_key_id=ak, access_key_secret=secret, security_token=token)
    cfg.endpoint = endpoint or info["kms"]
    cfg.protocol = "https"
    cfg.ca = ca or info["ca"]
    cfg.read_timeout = read_timeout_ms
    cfg.connect_timeout = 5000
    if signature == "v2":
        cfg.signature_algorithm = "v2"
    return KmsClient(cfg)


def gdk(client: KmsClient, key_id: str = "alias/acs/mse", spec: str = "AES_256",
        ctx: Optional[Dict[str, str]] = None) -> kms_models.GenerateDataKeyResponseBody:
    return client.generate_data_key(kms_models.GenerateDataKeyRequest(
        key_id=key_id, key_spec=spec, encryption_context=ctx)).body


def encrypt(client: KmsClient, plaintext: str, key_id: str = "alias/test",
            ctx: Optional[Dict[str, str]] = None) -> kms_models.EncryptResponseBody:
    return client.encrypt(kms_models.EncryptRequest(key_id=key_id, plaintext=plaintext,
                                                    encryption_context=ctx)).body


def decrypt(client: KmsClient, blob: str, ctx: Optional[Dict[str, str]] = None) -> kms_models.DecryptResponseBody:
    return client.decrypt(kms_models.DecryptRequest(ciphertext_blob=blob, encryption_context=ctx)).body


def api_error(exc: BaseException) -> Any:
    """The official AlibabaCloudException behind exc (ClientException / ServerException)."""
    assert isinstance(exc, openapi_exceptions.AlibabaCloudException), repr(exc)
    return exc


def run_isolated(info: Dict[str, str], code: str, extra_env: Optional[Dict[str, str]] = None) -> Any:
    """Run code in a child python with SSL_CERT_FILE=test CA; its last stdout line is JSON."""
    env = dict(os.environ, SSL_CERT_FILE=info["ca"], PYTHONPATH=SERVER_DIR,
               INFO=json.dumps(info), **(extra_env or {}))
    prelude = "import json, os, sys\nINFO = json.loads(os.environ['INFO'])\n"
    out = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], env=env,
                         capture_output=True, timeout=60)
    if out.returncode != 0:
        raise AssertionError("child failed:\n%s\n%s" % (out.stdout.decode(), out.stderr.decode()))
    return json.loads(out.stdout.decode("utf-8").strip().splitlines()[-1])


def oracle_cli(command: str, inp: Dict[str, Any]) -> Dict[str, Any]:
    out = subprocess.run([sys.executable, ORACLE, command], input=json.dumps(inp).encode("utf-8"),
                         capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr.decode()
    return json.loads(out.stdout.decode("utf-8"))


# ---- KMS round trips with the official client ----------------------------------------------

@pytest.mark.parametrize("signature", SIGNATURES)
@pytest.mark.parametrize("spec,size", [("AES_256", 32), ("AES_128", 16)])
def test_generate_data_key_then_decrypt(server: Dict[str, str], signature: str, spec: str, size: int) -> None:
    client = kms(server, signature)
    body = gdk(client, spec=spec)
    assert len(base64.b64decode(body.plaintext, validate=True)) == size
    assert body.key_id == "key-mse-0000-0000-0000-000000000001"
    assert len(body.key_version_id) == 36
    raw = base64.b64decode(body.ciphertext_blob)
    assert raw[:36].decode("ascii") == body.key_version_id  # documented blob layout
    out = decrypt(client, body.ciphertext_blob)
    assert out.plaintext == body.plaintext  # Decrypt gives back the base64 TEXT
    assert out.key_version_id == body.key_version_id
    log = requests_log(server)
    assert [e["action"] for e in log] == ["GenerateDataKey", "Decrypt"]
    assert all(e["signature"] == signature.upper() and e["status"] == 200 for e in log)
    assert all(e["access_key_id"] == AK and not e["security_token"] for e in log)


@pytest.mark.parametrize("signature", SIGNATURES)
def test_encrypt_decrypt_with_and_without_context(server: Dict[str, str], signature: str) -> None:
    client = kms(server, signature)
    text = "spring.datasource.password=s3cret ü € 中文 + & = %20"
    plain = encrypt(client, text)
    assert decrypt(client, plain.ciphertext_blob).plaintext == text

    ctx = {"dataId": "cipher-kms-aes-256-app", "group": "DEFAULT_GROUP", "tenant": "ü ns"}
    sealed = encrypt(client, text, ctx=ctx)
    # Same context, other key order: compared as parsed JSON, so it matches.
    reordered = dict(reversed(list(ctx.items())))
    assert decrypt(client, sealed.ciphertext_blob, ctx=reordered).plaintext == text
    for wrong in ({**ctx, "group": "OTHER"}, None):
        with pytest.raises(Exception) as ei:
            decrypt(client, sealed.ciphertext_blob, ctx=wrong)
        err = api_error(ei.value)
        assert (err.code, err.status_code) == ("InvalidParameter", 400)


def test_v3_request_shape(server: Dict[str, str]) -> None:
    """What the Tea client sends with V3: all parameters in the query, Action/Version in
    headers, these signed headers, and an empty body: with no content-type for Encrypt, but an
    empty form (content-type signed) for GenerateDataKey and Decrypt, whose generated code
    always passes a body map (for their optional Recipient parameter)."""
    client = kms(server)
    decrypt(client, encrypt(client, "x", ctx={"k": "v"}).ciphertext_blob, ctx={"k": "v"})
    enc, dec = requests_log(server)
    assert enc["query_keys"] == ["EncryptionContext", "KeyId", "Plaintext"]
    assert dec["query_keys"] == ["CiphertextBlob", "EncryptionContext"]
    assert enc["body_keys"] == dec["body_keys"] == []
    assert (enc["content_type"], dec["content_type"]) == (None, "application/x-www-form-urlencoded")
    assert enc["params"]["Plaintext"] == "<redacted>"
    assert enc["params"]["EncryptionContext"] == '{"k":"v"}'
    common = ["accept", "host", "user-agent", "x-acs-action", "x-acs-content-sha256",
              "x-acs-credentials-provider", "x-acs-date", "x-acs-signature-nonce", "x-acs-version"]
    assert enc["signed_headers"] == common
    assert dec["signed_headers"] == sorted(common + ["content-type"])


def test_key_states_rotation_and_limits(server: Dict[str, str]) -> None:
    client = kms(server)
    control(server, "POST", "/keys", {"key_id": "key-rot", "aliases": ["alias/rot"]})
    first = encrypt(client, "hello", key_id="alias/rot")
    rotated = control(server, "POST", "/keys", {"key_id": "key-rot", "rotate": True})
    second = encrypt(client, "hello", key_id="key-rot")
    assert second.key_version_id == rotated["current_version"] != first.key_version_id
    assert decrypt(client, first.ciphertext_blob).plaintext == "hello"  # old versions still decrypt

    control(server, "POST", "/keys", {"key_id": "key-rot", "state": "Disabled"})
    for call in (lambda: encrypt(client, "x", key_id="alias/rot"),
                 lambda: decrypt(client, first.ciphertext_blob)):
        with pytest.raises(Exception) as ei:
            call()
        assert (api_error(ei.value).code, api_error(ei.value).status_code) == ("Forbidden.KeyNotEnabled", 400)
    control(server, "POST", "/keys", {"key_id": "key-rot", "delete": True})
    with pytest.raises(Exception) as ei:
        decrypt(client, first.ciphertext_blob)
    assert (api_error(ei.value).code, api_error(ei.value).status_code) == ("Forbidden.KeyNotFound", 404)
    with pytest.raises(Exception) as ei:
        encrypt(client, "x", key_id="alias/nope")
    assert api_error(ei.value).code == "Forbidden.KeyNotFound"

    assert decrypt(client, encrypt(client, "a" * 6144).ciphertext_blob).plaintext == "a" * 6144
    with pytest.raises(Exception) as ei:
        encrypt(client, "a" * 6145)
    assert api_error(ei.value).code == "InvalidParameter"


# ---- authentication -------------------------------------------------------------------------

@pytest.mark.parametrize("signature", SIGNATURES)
def test_wrong_secret_and_unknown_key(server: Dict[str, str], signature: str) -> None:
    with pytest.raises(Exception) as ei:
        gdk(kms(server, signature, secret="not-the-secret"))
    assert (api_error(ei.value).code, api_error(ei.value).status_code) == ("SignatureDoesNotMatch", 400)
    with pytest.raises(Exception) as ei:
        gdk(kms(server, signature, ak="LTAI5tUnknown"))
    assert (api_error(ei.value).code, api_error(ei.value).status_code) == ("InvalidAccessKeyId.NotFound", 404)


@pytest.mark.parametrize("signature", SIGNATURES)
def test_replayed_nonce_and_stale_timestamp(server: Dict[str, str], signature: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    client = kms(server, signature)
    nonce = "fixed-nonce-%s-%d" % (signature, time.time_ns())
    monkeypatch.setattr(OpenApiUtils, "get_nonce", staticmethod(lambda: nonce))
    gdk(client)
    with pytest.raises(Exception) as ei:
        gdk(client)
    assert (api_error(ei.value).code, api_error(ei.value).status_code) == ("SignatureNonceUsed", 400)
    monkeypatch.undo()

    stale = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 16 * 60))
    monkeypatch.setattr(OpenApiUtils, "get_timestamp", staticmethod(lambda: stale))
    with pytest.raises(Exception) as ei:
        gdk(client)
    assert (api_error(ei.value).code, api_error(ei.value).status_code) == ("InvalidTimeStamp.Expired", 400)


def test_tls_refusals(server: Dict[str, str]) -> None:
    """kms_plain speaks HTTP (an https client fails), kms_selfsigned is not trusted, and the test
    CA is needed: with other-ca.pem the official client refuses kms (in a fresh process, since
    the SDK's SSL context is shared per host:port and keeps every CA it ever loaded)."""
    for name in ("kms_plain", "kms_selfsigned"):
        with pytest.raises(Exception) as ei:
            gdk(kms(server, endpoint=server[name]))
        assert not isinstance(ei.value, openapi_exceptions.AlibabaCloudException)
        assert "SSL" in str(ei.value) or "ssl" in str(ei.value).lower()
    base = {"endpoint": server["kms"], "access_key_id": AK, "access_key_secret": SECRET,
            "key_id": "alias/acs/mse", "key_spec": "AES_256"}
    wrong = oracle_cli("sdk_generate_data_key", dict(base, ca=server["other_ca"]))
    assert "CERTIFICATE_VERIFY_FAILED" in wrong["error"]["message"]
    right = oracle_cli("sdk_generate_data_key", dict(base, ca=server["ca"]))
    assert len(base64.b64decode(right["Plaintext"])) == 32
    # The server still answers plain HTTP (so a test can see that our client refused it).
    plain = kms(server, endpoint=server["kms_plain"])
    plain._protocol = "http"  # test-only: the generated client has no public switch after init
    assert len(base64.b64decode(gdk(plain).plaintext)) == 32


# ---- faults ---------------------------------------------------------------------------------

@pytest.mark.parametrize("kind,code,status", [
    ("throttle", "Rejected.Throttling", 429),
    ("unavailable", "ServiceUnavailableTemporary", 503),
    ("internal", "InternalFailure", 500),
    ("expired_credentials", "InvalidSecurityToken.Expired", 400),
])
def test_error_faults(server: Dict[str, str], kind: str, code: str, status: int) -> None:
    client = kms(server)
    control(server, "POST", "/faults", [{"server": "kms", "kind": kind, "count": 2}])
    for _ in range(2):
        with pytest.raises(Exception) as ei:
            gdk(client)
        err = api_error(ei.value)
        assert (err.code, err.status_code) == (code, status)
        if status >= 500:
            assert isinstance(err, openapi_exceptions.ServerException)
    if kind == "throttle":
        assert "QPS Limit Exceeded" in api_error(ei.value).message
    gdk(client)  # count consumed: the third request goes through
    log = requests_log(server)
    assert [e["fault"] for e in log] == [kind, kind, None]


@pytest.mark.parametrize("kind", ["garbage", "truncated", "reset"])
def test_broken_response_faults(server: Dict[str, str], kind: str) -> None:
    client = kms(server)
    control(server, "POST", "/faults", {"server": "kms", "kind": kind, "action": "GenerateDataKey"})
    with pytest.raises(Exception) as ei:
        gdk(client)
    # Not a service error: the official client fails on the transport or the body.
    assert not isinstance(ei.value, openapi_exceptions.AlibabaCloudException)
    gdk(client)
    assert requests_log(server)[0]["fault"] == kind


def test_reset_is_a_tcp_reset(server: Dict[str, str]) -> None:
    control(server, "POST", "/faults", {"server": "kms_plain", "kind": "reset"})
    host, port = server["kms_plain"].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(b"POST /?Action=Decrypt HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        with pytest.raises(ConnectionResetError):
            if s.recv(1024) == b"":
                raise AssertionError("orderly close, not a reset")


def test_slow_hang_oversized_faults(server: Dict[str, str]) -> None:
    client = kms(server, read_timeout_ms=800)
    control(server, "POST", "/faults", [{"server": "kms", "kind": "slow", "seconds": 0.3}])
    t = time.monotonic()
    gdk(client)
    assert time.monotonic() - t >= 0.3
    control(server, "POST", "/faults", [{"server": "kms", "kind": "hang", "seconds": 2}])
    t = time.monotonic()
    with pytest.raises(Exception) as ei:
        gdk(client)
    assert time.monotonic() - t < 1.9 and "timed out" in str(ei.value).lower()
    # A JSON-looking 1 MiB body: the official client reads it all and finds no fields in it.
    control(server, "POST", "/faults", [{"server": "kms", "kind": "oversized", "bytes": 1 << 20}])
    body = gdk(client)
    assert body.plaintext is None and body.ciphertext_blob is None
    assert [e["fault"] for e in requests_log(server)] == ["slow", "hang", "oversized"]


def test_malformed_requests_get_json_errors(server: Dict[str, str]) -> None:
    host, port = server["kms_plain"].split(":")
    for raw in (b"GARBAGE\r\n\r\n", b"POST / HTTP/1.1\r\nContent-Length: zz\r\n\r\n",
                b"GET /?Action=Decrypt HTTP/1.1\r\nHost: x\r\nAuthorization: ACS3-HMAC-SHA256 nonsense\r\n\r\n",
                b"GET /?Action=Decrypt&Signature=x HTTP/1.1\r\nHost: x\r\n\r\n"):
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(raw)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            head, _, rest = data.partition(b"\r\n\r\n")
            assert head.split(b" ")[1][:1] == b"4", head
            length = int([h.split(b":")[1] for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")][0])
            while len(rest) < length:
                rest += s.recv(4096)
            assert "Code" in json.loads(rest.decode("utf-8"))
    assert control(server, "GET", "/health", None) == {"ok": True}  # still alive


# ---- credentials: STS, OIDC, ECS metadata, credentials URI ---------------------------------

def test_ram_role_arn_provider_and_expiry(server: Dict[str, str]) -> None:
    """alibabacloud_credentials' RamRoleArn provider (sts_endpoint overridden) -> AssumeRole,
    then the official KMS client with those STS credentials (V3 and V2)."""
    result = run_isolated(server, """
        from alibabacloud_credentials.client import Client as CredentialClient
        from alibabacloud_credentials.provider import RamRoleArnCredentialsProvider
        from alibabacloud_kms20160120.client import Client
        from alibabacloud_kms20160120 import models
        from alibabacloud_tea_openapi import models as om
        provider = RamRoleArnCredentialsProvider(
            access_key_id='LTAI5tTestAccessKeyId', access_key_secret='TestAccessKeySecret0123456789abc',
            role_arn='acs:ram::1234567890123456:role/nacos-kms', role_session_name='nacos-test',
            sts_endpoint=INFO['sts'])
        cred = provider.get_credentials()
        out = {'ak': cred.get_access_key_id(), 'secret': cred.get_access_key_secret(),
               'token': cred.get_security_token(), 'provider': cred.get_provider_name()}
        for sig in ('v3', 'v2'):
            cfg = om.Config(credential=CredentialClient(provider=provider), endpoint=INFO['kms'],
                            protocol='https', ca=INFO['ca'])
            if sig == 'v2':
                cfg.signature_algorithm = 'v2'
            c = Client(cfg)
            g = c.generate_data_key(models.GenerateDataKeyRequest(key_id='alias/acs/mse', key_spec='AES_128')).body
            d = c.decrypt(models.DecryptRequest(ciphertext_blob=g.ciphertext_blob)).body
            out[sig] = d.plaintext == g.plaintext
        print(json.dumps(out))
    """)
    assert result["ak"].startswith("STS.") and result["v3"] and result["v2"]
    assert result["provider"] == "ram_role_arn/static_ak"
    log = requests_log(server)
    assume = log[0]
    assert (assume["server"], assume["action"], assume["signature"], assume["http_method"]) == \
        ("sts", "AssumeRole", "V2", "GET")
    kms_calls = [e for e in log if e["server"] == "kms"]
    assert len(kms_calls) == 4 and all(e["security_token"] and e["access_key_id"] == result["ak"] for e in kms_calls)
    assert "x-acs-security-token" in kms_calls[0]["signed_headers"]

    # The same STS credentials: no token -> refused; expired -> InvalidSecurityToken.Expired.
    with pytest.raises(Exception) as ei:
        gdk(kms(server, ak=result["ak"], secret=result["secret"]))
    assert api_error(ei.value).code == "MissingSecurityToken"
    assert gdk(kms(server, ak=result["ak"], secret=result["secret"], token=result["token"])).plaintext
    control(server, "POST", "/sts", {"expire_all": True})
    for sig in SIGNATURES:
        with pytest.raises(Exception) as ei:
            gdk(kms(server, sig, ak=result["ak"], secret=result["secret"], token=result["token"]))
        assert (api_error(ei.value).code, api_error(ei.value).status_code) == ("InvalidSecurityToken.Expired", 400)


def test_oidc_provider(server: Dict[str, str], tmp_path: Any) -> None:
    token_file = tmp_path / "token"
    code = """
        from alibabacloud_credentials.provider import OIDCRoleArnCredentialsProvider
        p = OIDCRoleArnCredentialsProvider(
            role_arn='acs:ram::1234567890123456:role/test-oidc-role',
            oidc_provider_arn='acs:ram::1234567890123456:oidc-provider/test-provider',
            oidc_token_file_path=os.environ['TOKEN_FILE'], sts_endpoint=INFO['sts'])
        try:
            c = p.get_credentials()
            print(json.dumps({'ak': c.get_access_key_id(), 'token': bool(c.get_security_token())}))
        except Exception as e:
            print(json.dumps({'error': str(e)}))
    """
    token_file.write_text("test-oidc-token")  # read verbatim: a trailing newline would be sent too
    ok = run_isolated(server, code, {"TOKEN_FILE": str(token_file)})
    assert ok["ak"].startswith("STS.") and ok["token"]
    token_file.write_text("someone-else")
    bad = run_isolated(server, code, {"TOKEN_FILE": str(token_file)})
    assert "AuthenticationFail.OIDCToken.Invalid" in bad["error"]
    log = [e for e in requests_log(server) if e["server"] == "sts"]
    assert [e["signature"] for e in log] == ["anonymous", "anonymous"]
    assert [e["status"] for e in log] == [200, 400]
    assert log[0]["params"]["OIDCToken"] == "<redacted>"


def _ecs_provider(server: Dict[str, str]) -> Any:
    from alibabacloud_credentials.provider import EcsRamRoleCredentialsProvider
    provider = EcsRamRoleCredentialsProvider(async_update_enabled=False)
    # The library hard-codes 100.100.100.200 in a name-mangled private attribute (no env var or
    # config field): point it at the loopback metadata server, for this test only.
    host = server["metadata"][len("http://"):]
    setattr(provider, "_EcsRamRoleCredentialsProvider__metadata_service_host", host)
    return provider


def test_ecs_ram_role_provider(server: Dict[str, str]) -> None:
    from alibabacloud_credentials.client import Client as CredentialClient
    provider = _ecs_provider(server)
    client = kms(server, credential=CredentialClient(provider=provider))
    body = gdk(client)
    assert decrypt(client, body.ciphertext_blob).plaintext == body.plaintext
    md = [e for e in requests_log(server) if e["server"] == "metadata"]
    assert [(e["http_method"], e["path"], e["status"]) for e in md] == [
        ("PUT", "/latest/api/token", 200),
        ("GET", "/latest/meta-data/ram/security-credentials/", 200),
        ("PUT", "/latest/api/token", 200),
        ("GET", "/latest/meta-data/ram/security-credentials/test-ecs-role", 200)]
    assert md[0]["ttl_header"] == "21600" and md[1]["security_token"] and md[3]["security_token"]

    # Hardened mode off and the token PUT failing: the provider falls back to IMDSv1.
    control(server, "POST", "/metadata", {"hardened": False, "token_put_fails": True})
    assert _ecs_provider(server).get_credentials().get_access_key_id().startswith("STS.")
    # Hardened on and the PUT failing: no way in.
    control(server, "POST", "/metadata", {"hardened": True, "token_put_fails": True})
    with pytest.raises(Exception):
        _ecs_provider(server).get_credentials()


def test_credentials_uri_provider(server: Dict[str, str]) -> None:
    from alibabacloud_credentials.client import Client as CredentialClient
    from alibabacloud_credentials.provider import URLCredentialsProvider
    provider = URLCredentialsProvider(uri=server["metadata"] + "/credentials-uri")
    client = kms(server, "v2", credential=CredentialClient(provider=provider))
    text = "uri credentials"
    assert decrypt(client, encrypt(client, text).ciphertext_blob).plaintext == text
    assert [e["path"] for e in requests_log(server) if e["server"] == "metadata"] == ["/credentials-uri"]


# ---- the oracle CLI (what the Rust tests call) ----------------------------------------------

def test_oracle_signatures_are_what_the_server_verifies(server: Dict[str, str]) -> None:
    """sign_v3 / sign_rpc results, sent by hand over plain HTTP, are accepted: the oracle and the
    server agree. The V2 call sends its parameters in a form body, as aliyunsdkcore may."""
    import hashlib
    import http.client
    host = server["kms_plain"]
    date = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    payload = hashlib.sha256(b"").hexdigest()
    headers = {"host": host, "x-acs-action": "Encrypt", "x-acs-version": "2016-01-20", "x-acs-date": date,
               "x-acs-signature-nonce": "oracle-v3-%d" % time.time_ns(), "x-acs-content-sha256": payload}
    query = {"KeyId": "alias/test", "Plaintext": "a b+c~*", "EncryptionContext": '{"b": "2", "a": "1"}'}
    signed = oracle_cli("sign_v3", {"method": "POST", "pathname": "/", "query": query, "headers": headers,
                                    "payload_hash": payload, "access_key_id": AK, "access_key_secret": SECRET})
    assert signed["canonical_query"].startswith("EncryptionContext=%7B%22b%22%3A%20%222%22")
    conn = http.client.HTTPConnection(host, timeout=10)
    from urllib.parse import quote
    qs = "&".join("%s=%s" % (k, quote(v, safe="")) for k, v in query.items())
    conn.request("POST", "/?" + qs, body=b"", headers=dict(headers, Authorization=signed["authorization"]))
    resp = conn.getresponse()
    enc = json.loads(resp.read())
    assert resp.status == 200, enc

    params = {"Action": "Decrypt", "Version": "2016-01-20", "Format": "JSON", "AccessKeyId": AK,
              "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureType": "",
              "SignatureNonce": "oracle-v2-%d" % time.time_ns(), "Timestamp": date,
              "CiphertextBlob": enc["CiphertextBlob"], "EncryptionContext": '{"a":"1","b":"2"}'}
    sig = oracle_cli("sign_rpc", {"method": "POST", "params": params, "access_key_secret": SECRET})
    assert sig["signature_openapi_util"] == sig["signature_sdkcore"]
    assert sig["string_to_sign"].startswith("POST&%2F&AccessKeyId%3D")
    from urllib.parse import urlencode
    conn.request("POST", "/", body=urlencode(dict(params, Signature=sig["signature_sdkcore"])),
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    resp = conn.getresponse()
    dec = json.loads(resp.read())
    assert resp.status == 200 and dec["Plaintext"] == "a b+c~*", dec
    assert requests_log(server)[-1]["body_keys"][:2] == ["AccessKeyId", "Action"]


@pytest.mark.skipif(not HAVE_NACOS, reason="nacos-sdk-python needs Python >= 3.10")
def test_nacos_plugins_round_trip_through_the_oracle(server: Dict[str, str]) -> None:
    """nacos-sdk-python v2's own KMS plugins, all three schemes, via oracle.run (one child
    process with SSL_CERT_FILE, since nacos' KMSConfig takes no CA)."""
    result = run_isolated(server, """
        import oracle
        base = {'endpoint': INFO['kms'], 'ca': INFO['ca'], 'access_key_id': 'LTAI5tTestAccessKeyId',
                'access_key_secret': 'TestAccessKeySecret0123456789abc', 'key_id': 'alias/test'}
        out = {}
        for data_id in ('cipher-app.yaml', 'cipher-kms-aes-128-app.yaml', 'cipher-kms-aes-256-app.yaml'):
            content = 'db.password=ü s3cret ' + data_id
            enc = oracle.run('nacos_encrypt', dict(base, data_id=data_id, content=content))
            dec = oracle.run('nacos_decrypt', dict(base, data_id=data_id, content=enc['content'],
                                                   encrypted_data_key=enc['encrypted_data_key']))
            out[data_id] = {'enc': enc, 'ok': dec.get('content') == content}
        print(json.dumps(out))
    """)
    client = kms(server)
    for data_id, r in result.items():
        assert r["ok"], (data_id, r)
        enc = r["enc"]
        if data_id.startswith("cipher-kms-aes-"):
            size = 16 if "-128-" in data_id else 32
            key_text = decrypt(client, enc["encrypted_data_key"]).plaintext
            assert len(base64.b64decode(key_text)) == size
            assert len(base64.b64decode(enc["content"])) % 16 == 0  # AES-ECB, PKCS#7
        else:
            assert enc["encrypted_data_key"] == ""
            assert decrypt(client, enc["content"]).plaintext.endswith(data_id)
    actions = [(e["action"], e["params"].get("KeySpec")) for e in requests_log(server)]
    assert actions[:2] == [("Encrypt", None), ("Decrypt", None)]
    assert ("GenerateDataKey", "AES_128") in actions and ("GenerateDataKey", "AES_256") in actions
    assert all("EncryptionContext" not in e["params"] for e in requests_log(server) if e["server"] == "kms"
               and e["action"] != "Decrypt")


def test_faults_on_sts_and_metadata(server: Dict[str, str]) -> None:
    """Faults apply per server: the metadata and STS servers fail the official providers too."""
    control(server, "POST", "/faults", [{"server": "metadata", "kind": "internal", "count": 10}])
    with pytest.raises(Exception):
        _ecs_provider(server).get_credentials()
    control(server, "POST", "/reset", {})
    control(server, "POST", "/faults", [{"server": "sts", "kind": "throttle"}])
    result = run_isolated(server, """
        from alibabacloud_credentials.provider import RamRoleArnCredentialsProvider
        p = RamRoleArnCredentialsProvider(
            access_key_id='LTAI5tTestAccessKeyId', access_key_secret='TestAccessKeySecret0123456789abc',
            role_arn='acs:ram::1234567890123456:role/nacos-kms', sts_endpoint=INFO['sts'])
        try:
            p.get_credentials()
            print(json.dumps({'error': None}))
        except Exception as e:
            print(json.dumps({'error': str(e)}))
    """)
    assert "http_code: 429" in result["error"] and "Rejected.Throttling" in result["error"]
    assert [(e["server"], e["fault"], e["status"]) for e in requests_log(server)] == [("sts", "throttle", 429)]
