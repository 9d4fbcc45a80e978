#!/usr/bin/env python3
"""Loopback stand-in for Alibaba Cloud KMS (OpenAPI 2016-01-20), STS and the ECS metadata service.

Who uses it: the Rust tests of kms/aliyun, the C and Python tests of libnacoscrypt, and
kms/aliyun/tests/test_server_official_sdk.py, which proves that the OFFICIAL Alibaba SDKs
(alibabacloud_kms20160120, alibabacloud_credentials, nacos-sdk-python) work against it. So the
server is checked against the real clients, and our own client is checked against the server.

    PY aliyun_test_server.py --dir DIR

writes test certificates into DIR, starts every server on an ephemeral port of 127.0.0.1 (never
another address: no test may reach the internet), prints ONE JSON line on stdout

    {"kms": "127.0.0.1:P", "kms_plain": "127.0.0.1:P", "kms_selfsigned": "127.0.0.1:P",
     "sts": "127.0.0.1:P", "metadata": "http://127.0.0.1:P", "control": "http://127.0.0.1:P",
     "ca": "DIR/ca.pem", "other_ca": "DIR/other-ca.pem"}

and serves until its stdin reaches EOF or it gets SIGTERM/SIGINT (so a harness that dies never
leaves it running). Logs go to stderr only (one line per request with --verbose).

Servers:
  kms             HTTPS, certificate from the test CA (ca.pem): GenerateDataKey, Encrypt, Decrypt.
  kms_plain       the same application over plain HTTP (a client must refuse it; we still answer).
  kms_selfsigned  the same application with a self-signed certificate (selfsigned.pem).
  sts             HTTPS (test CA): AssumeRole (signed), AssumeRoleWithOIDC (anonymous).
  metadata        plain HTTP, like 100.100.100.200: IMDS token, RAM role credentials, and
                  GET /credentials-uri for ALIBABA_CLOUD_CREDENTIALS_URI.
  control         plain HTTP JSON API for tests: faults, request log, accounts, keys, STS, OIDC,
                  metadata settings (see Control below).

Every signed request is verified by calling the official SDKs' OWN signing functions, never a
reimplementation: V3 (ACS3-HMAC-SHA256) with alibabacloud_openapi_util's get_authorization, RPC
V2 (HMAC-SHA1) with alibabacloud_openapi_util's get_rpcsignature AND aliyunsdkcore's
rpc_signature_composer + sha_hmac1 (both must agree).

KMS blobs: CiphertextBlob = base64(keyVersionId[36 ASCII] || iv[12] || AES-256-GCM ct || tag[16])
with AAD = the EncryptionContext as canonical JSON (sorted keys, compact, ensure_ascii=False;
absent or empty context = empty AAD), so a context sent with another key order or spacing still
matches (the real service compares contexts as parsed JSON).

Python 3.9+ (standard library + cryptography + the two signing packages). What this server shares
with instance_test_server.py (certificates, key store, faults, HTTP plumbing, control API, main
loop) is in loopback.py, beside this file.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import os
import secrets
import sys
import time
import uuid
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import parse_qsl, urlsplit

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# The official signing code (see module docstring). aliyunsdkcore's composer keeps its string-
# to-sign helpers module-private (double underscore, not mangled at module level): getattr.
from alibabacloud_openapi_util.client import Client as OpenApiUtil
from aliyunsdkcore.auth.algorithm import sha_hmac1
from aliyunsdkcore.auth.composer import rpc_signature_composer

# loopback.py (shared with instance_test_server.py) sits beside this file: on sys.path already when
# this file runs as a script, added here for a test that imports this file by path.
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
import loopback  # noqa: E402
from loopback import TIME_FORMAT, ApiError, Key, LoopbackServer, check_enabled, iso, log  # noqa: E402

loopback.LOG_NAME = "aliyun-test-server"

SDKCORE_COMPOSE = getattr(rpc_signature_composer, "__compose_string_to_sign")
SDKCORE_SIGN = getattr(rpc_signature_composer, "__get_signature")

KMS_VERSION = "2016-01-20"
STS_VERSION = "2015-04-01"
MAX_SKEW_SECONDS = 15 * 60
ENCRYPT_PLAINTEXT_LIMIT = 6144  # the real Encrypt refuses more than 6 KiB
DEFAULT_ACCOUNT = ("LTAI5tTestAccessKeyId", "TestAccessKeySecret0123456789abc")
SECRET_PARAMS = {"Signature", "SecurityToken", "OIDCToken", "Plaintext", "AccessKeySecret"}


def utc_now() -> float:
    return time.time()


def parse_iso(text: str) -> Optional[float]:
    try:
        dt = datetime.datetime.strptime(text, TIME_FORMAT).replace(tzinfo=datetime.timezone.utc)
        return dt.timestamp()
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------------------------
# State shared by every server (one lock; requests are few and small): the keys, faults and
# request log of loopback.LoopbackState, plus accounts, STS credentials, nonces, OIDC, metadata
# --------------------------------------------------------------------------------------------

class StsCredential:
    def __init__(self, ak: str, secret: str, token: str, expires: float, source: str) -> None:
        self.ak, self.secret, self.token, self.expires, self.source = ak, secret, token, expires, source


class State(loopback.LoopbackState):
    FAULT_KINDS = loopback.LoopbackState.FAULT_KINDS | {"expired_credentials"}
    FAULT_SERVERS = frozenset({"kms", "kms_plain", "kms_selfsigned", "sts", "metadata"})
    DEFAULT_FAULT_SERVER = "kms"

    def __init__(self) -> None:
        super().__init__()  # the lock, keys (the two default ones), faults, request log
        self.accounts: Dict[str, str] = {DEFAULT_ACCOUNT[0]: DEFAULT_ACCOUNT[1]}
        self.sts: Dict[str, StsCredential] = {}
        self.nonces: Dict[str, float] = {}
        self.sts_lifetime = 3600
        self.oidc: List[Dict[str, str]] = [{
            "token": "test-oidc-token",
            "provider_arn": "acs:ram::1234567890123456:oidc-provider/test-provider",
            "role_arn": "acs:ram::1234567890123456:role/test-oidc-role"}]
        self.metadata = {"role_name": "test-ecs-role", "hardened": True, "lifetime_seconds": 3600,
                         "token_put_fails": False, "token_put_status": 403}
        self.imds_tokens: Dict[str, float] = {}
        self.put_key({"key_id": "key-mse-0000-0000-0000-000000000001", "aliases": ["alias/acs/mse"]})
    # ---- credentials ----
    def issue_sts(self, lifetime: int, source: str) -> StsCredential:
        ak = "STS.NT" + secrets.token_hex(12)
        cred = StsCredential(ak, secrets.token_urlsafe(30), "CAIS" + secrets.token_urlsafe(96),
                             float(int(utc_now()) + int(lifetime)), source)
        with self.lock:
            self.sts[ak] = cred
        return cred

    def use_nonce(self, nonce: str) -> bool:
        """True the first time a nonce is seen (within the timestamp window), False on replay."""
        now = utc_now()
        with self.lock:
            if len(self.nonces) > 10000:
                self.nonces = {n: t for n, t in self.nonces.items() if t > now}
            if nonce in self.nonces and self.nonces[nonce] > now:
                return False
            self.nonces[nonce] = now + 2 * MAX_SKEW_SECONDS
            return True


STATE = State()


# --------------------------------------------------------------------------------------------
# KMS semantics
# --------------------------------------------------------------------------------------------

def canonical_context(raw: Optional[str]) -> bytes:
    """AAD for an EncryptionContext parameter: parsed JSON object, dumped canonically."""
    if raw is None or raw.strip() == "":
        return b""
    try:
        obj = json.loads(raw)
    except ValueError:
        raise ApiError(400, "InvalidParameter", "The specified parameter EncryptionContext is not valid JSON.")
    if not isinstance(obj, dict):
        raise ApiError(400, "InvalidParameter", "The specified parameter EncryptionContext is not a JSON object.")
    if not obj:
        return b""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def kms_seal(key: Key, plaintext: bytes, aad: bytes) -> Tuple[str, str]:
    vid, material = key.current
    iv = os.urandom(12)
    ct = AESGCM(material).encrypt(iv, plaintext, aad)
    return vid, base64.b64encode(vid.encode("ascii") + iv + ct).decode("ascii")


def require(params: Dict[str, str], name: str) -> str:
    value = params.get(name)
    if value is None or value == "":
        raise ApiError(400, "MissingParameter", "The input parameter \"%s\" that is mandatory for processing this request is not supplied." % name)
    return value


def kms_action(action: str, params: Dict[str, str], request_id: str) -> Dict[str, Any]:
    if action == "GenerateDataKey":
        key = STATE.resolve_key(require(params, "KeyId"))
        check_enabled(key)
        if params.get("NumberOfBytes"):
            try:
                n = int(params["NumberOfBytes"])
            except ValueError:
                n = 0
            if not 1 <= n <= 1024:
                raise ApiError(400, "InvalidParameter", "The specified parameter NumberOfBytes is not valid.")
        else:
            spec = params.get("KeySpec") or "AES_256"
            if spec not in ("AES_256", "AES_128"):
                raise ApiError(400, "InvalidParameter", "The specified parameter KeySpec is not valid.")
            n = 32 if spec == "AES_256" else 16
        aad = canonical_context(params.get("EncryptionContext"))
        plaintext_text = base64.b64encode(os.urandom(n)).decode("ascii")
        vid, blob = kms_seal(key, plaintext_text.encode("ascii"), aad)
        return {"KeyId": key.key_id, "KeyVersionId": vid, "Plaintext": plaintext_text,
                "CiphertextBlob": blob, "RequestId": request_id}
    if action == "Encrypt":
        key = STATE.resolve_key(require(params, "KeyId"))
        check_enabled(key)
        plaintext = require(params, "Plaintext").encode("utf-8")
        if len(plaintext) > ENCRYPT_PLAINTEXT_LIMIT:
            raise ApiError(400, "InvalidParameter", "The specified parameter Plaintext is longer than %d bytes." % ENCRYPT_PLAINTEXT_LIMIT)
        aad = canonical_context(params.get("EncryptionContext"))
        vid, blob = kms_seal(key, plaintext, aad)
        return {"KeyId": key.key_id, "KeyVersionId": vid, "CiphertextBlob": blob, "RequestId": request_id}
    if action == "Decrypt":
        blob_text = require(params, "CiphertextBlob")
        try:
            blob = base64.b64decode(blob_text, validate=True)
        except (ValueError, TypeError):
            raise ApiError(400, "InvalidParameter", "The specified parameter CiphertextBlob is not valid base64.")
        if len(blob) < 36 + 12 + 16:
            raise ApiError(400, "InvalidParameter", "The specified parameter CiphertextBlob is not valid.")
        try:
            vid = blob[:36].decode("ascii")
        except UnicodeDecodeError:
            raise ApiError(400, "InvalidParameter", "The specified parameter CiphertextBlob is not valid.")
        key, material = STATE.key_by_version(vid)
        check_enabled(key)
        aad = canonical_context(params.get("EncryptionContext"))
        try:
            plaintext = AESGCM(material).decrypt(blob[36:48], blob[48:], aad)
        except Exception:
            raise ApiError(400, "InvalidParameter",
                           "The specified parameter CiphertextBlob or EncryptionContext is not valid.")
        try:
            text = plaintext.decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(400, "InvalidParameter", "The plaintext is not UTF-8 text.")
        return {"KeyId": key.key_id, "KeyVersionId": vid, "Plaintext": text, "RequestId": request_id}
    raise ApiError(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")


# --------------------------------------------------------------------------------------------
# Signature verification (with the SDKs' own functions)
# --------------------------------------------------------------------------------------------

class SignedRequest:
    """What the signing functions read: .method, .pathname, .query, .headers."""

    def __init__(self, method: str, pathname: str, query: Dict[str, str], headers: Dict[str, str]) -> None:
        self.method, self.pathname, self.query, self.headers = method, pathname, query, headers


class AuthResult:
    def __init__(self, method: str, access_key_id: Optional[str], token_sent: bool,
                 signed_headers: Optional[List[str]] = None) -> None:
        self.method = method  # "V3" | "V2" | "anonymous"
        self.access_key_id = access_key_id
        self.token_sent = token_sent
        self.signed_headers = signed_headers


def lookup_secret(ak: str, token: Optional[str]) -> str:
    """The secret of an access key id; STS keys need their own, unexpired token."""
    with STATE.lock:
        if ak in STATE.accounts:
            if token:
                raise ApiError(400, "InvalidSecurityToken.MismatchWithAccessKey",
                               "The SecurityToken does not belong to this AccessKeyId.")
            return STATE.accounts[ak]
        cred = STATE.sts.get(ak)
    if cred is None:
        raise ApiError(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
    if not token:
        raise ApiError(400, "MissingSecurityToken", "SecurityToken is mandatory for this AccessKeyId.")
    if not hmac.compare_digest(token.encode("utf-8"), cred.token.encode("utf-8")):
        raise ApiError(400, "InvalidSecurityToken.MismatchWithAccessKey",
                       "The SecurityToken does not belong to this AccessKeyId.")
    if utc_now() >= cred.expires:
        raise ApiError(400, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired.")
    return cred.secret


def check_time(text: Optional[str], name: str) -> None:
    if not text:
        raise ApiError(400, "MissingParameter", "The input parameter \"%s\" is not supplied." % name)
    ts = parse_iso(text)
    if ts is None:
        raise ApiError(400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.")
    if abs(utc_now() - ts) > MAX_SKEW_SECONDS:
        raise ApiError(400, "InvalidTimeStamp.Expired",
                       "Specified time stamp or date value is expired (more than 15 minutes off).")


def verify_v3(method: str, pathname: str, query: Dict[str, str], headers: Dict[str, List[str]],
              body: bytes) -> AuthResult:
    auth = headers["authorization"][0]
    algo, _, rest = auth.partition(" ")
    if algo != "ACS3-HMAC-SHA256":
        raise ApiError(400, "IncompleteSignature", "Unsupported signature algorithm %r." % algo)
    fields: Dict[str, str] = {}
    for part in rest.split(","):
        k, sep, v = part.strip().partition("=")
        if not sep:
            raise ApiError(400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.")
        fields[k] = v
    if not {"Credential", "SignedHeaders", "Signature"} <= set(fields):
        raise ApiError(400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.")
    ak = fields["Credential"]
    signed = fields["SignedHeaders"].split(";")
    if signed != sorted(signed) or any(h != h.lower() for h in signed):
        raise ApiError(400, "IncompleteSignature", "SignedHeaders must be lower case and sorted.")
    must = {"host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce",
            "x-acs-content-sha256"}
    must |= {h for h in headers if h.startswith("x-acs-")}
    if "content-type" in headers:
        must.add("content-type")
    missing = sorted(must - set(signed))
    if missing:
        raise ApiError(400, "IncompleteSignature", "Header(s) not signed: %s." % ",".join(missing))
    absent = [h for h in signed if h not in headers]
    if absent:
        raise ApiError(400, "IncompleteSignature", "Signed header(s) absent: %s." % ",".join(absent))
    payload = headers["x-acs-content-sha256"][0]
    if payload != hashlib.sha256(body).hexdigest():
        raise ApiError(400, "SignatureDoesNotMatch", "x-acs-content-sha256 does not match the request body.")
    check_time(headers["x-acs-date"][0], "x-acs-date")
    token = headers.get("x-acs-security-token", [None])[0]
    secret = lookup_secret(ak, token)
    # Rebuild exactly what the client signed: method, path, decoded query, the SignedHeaders.
    signed_headers = {h: ",".join(headers[h]) for h in signed}
    expected = OpenApiUtil.get_authorization(
        SignedRequest(method, pathname, query, signed_headers), "ACS3-HMAC-SHA256", payload, ak, secret)
    if not hmac.compare_digest(expected.encode("utf-8"), auth.strip().encode("utf-8")):
        raise ApiError(400, "SignatureDoesNotMatch",
                       "The request signature we calculated does not match the signature you provided.")
    if not STATE.use_nonce(headers["x-acs-signature-nonce"][0]):
        raise ApiError(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
    return AuthResult("V3", ak, bool(token), signed)


def rpc_signatures(params: Dict[str, str], method: str, secret: str) -> Tuple[str, str, str]:
    """(openapi_util signature, aliyunsdkcore signature, aliyunsdkcore string to sign)."""
    sig_util = OpenApiUtil.get_rpcsignature(dict(params), method, secret)
    string_to_sign = SDKCORE_COMPOSE(method, dict(params))
    sig_core = SDKCORE_SIGN(string_to_sign, secret, sha_hmac1)
    return sig_util, sig_core, string_to_sign


def verify_v2(method: str, params: Dict[str, str]) -> AuthResult:
    for name in ("SignatureMethod", "SignatureVersion", "SignatureNonce", "Timestamp", "AccessKeyId"):
        if not params.get(name):
            raise ApiError(400, "IncompleteSignature",
                           "The request signature does not conform to Aliyun standards (no %s)." % name)
    if params["SignatureMethod"] != "HMAC-SHA1":
        raise ApiError(400, "IncompleteSignature", "Unsupported SignatureMethod %r." % params["SignatureMethod"])
    if params["SignatureVersion"] != "1.0":
        raise ApiError(400, "IncompleteSignature", "Unsupported SignatureVersion %r." % params["SignatureVersion"])
    check_time(params["Timestamp"], "Timestamp")
    token = params.get("SecurityToken")
    ak = params["AccessKeyId"]
    secret = lookup_secret(ak, token)
    to_sign = {k: v for k, v in params.items() if k != "Signature"}
    sig_util, sig_core, _ = rpc_signatures(to_sign, method, secret)
    if sig_util != sig_core:
        log("V2 oracles disagree for %r: openapi_util=%s sdkcore=%s" % (sorted(to_sign), sig_util, sig_core))
        raise ApiError(500, "InternalFailure", "The two official V2 signers disagree on this request.")
    if not hmac.compare_digest(sig_util.encode("utf-8"), params["Signature"].encode("utf-8")):
        raise ApiError(400, "SignatureDoesNotMatch",
                       "Specified signature is not matched with our calculation.")
    if not STATE.use_nonce(params["SignatureNonce"]):
        raise ApiError(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
    return AuthResult("V2", ak, bool(token))


def authenticate(method: str, pathname: str, query: Dict[str, str], params: Dict[str, str],
                 headers: Dict[str, List[str]], body: bytes) -> AuthResult:
    if "authorization" in headers:
        return verify_v3(method, pathname, query, headers, body)
    if "Signature" in params:
        return verify_v2(method, params)
    raise ApiError(400, "IncompleteSignature", "The request is not signed (no Authorization header, no Signature).")


# --------------------------------------------------------------------------------------------
# HTTP plumbing: loopback.BaseHandler, answering as the OpenAPI does (JSON errors, upper-case
# request ids, HEAD dispatched too)
# --------------------------------------------------------------------------------------------

class BaseHandler(loopback.BaseHandler):
    server_version = "AliyunTestServer/1.0"
    state = STATE
    INTERNAL_FAILURE = "Internal Failure."

    def new_request_id(self) -> str:
        return str(uuid.uuid4()).upper()

    def body_error(self, reason: str) -> ApiError:
        if reason == "bad_length":
            return ApiError(400, "InvalidParameter", "Bad Content-Length.")
        return ApiError(413, "InvalidParameter", "The request body is too large.")

    def _header_lists(self) -> Dict[str, List[str]]:
        out: Dict[str, List[str]] = {}
        for k, v in self.headers.items():
            out.setdefault(k.lower(), []).append(v)
        return out

    def send_api_error(self, err: ApiError, request_id: str) -> None:
        self.send_json(err.status, {
            "RequestId": request_id, "HostId": self.host_id(), "Code": err.code, "Message": err.message,
            "Recommend": "https://api.aliyun.com/troubleshoot?q=%s&product=Kms" % err.code}, request_id)

    def host_id(self) -> str:
        return self.headers.get("Host", self.server.address) if self.headers else self.server.address

    def send_error(self, code: int, message: Optional[str] = None, explain: Optional[str] = None) -> None:
        """BaseHTTPRequestHandler's own parse errors, as JSON too (never an HTML page)."""
        self.close_connection = True
        try:
            body = json.dumps({"RequestId": str(uuid.uuid4()).upper(), "HostId": self.server.address,
                               "Code": "InvalidRequest", "Message": message or explain or "Bad request"})
            self.send_response(code, message)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body.encode("utf-8"))
        except OSError:
            pass

    def do_HEAD(self) -> None:
        self._dispatch()


# --------------------------------------------------------------------------------------------
# The OpenAPI servers: KMS (three flavours) and STS share one RPC front end
# --------------------------------------------------------------------------------------------

class RpcHandler(BaseHandler):
    """RPC-style OpenAPI: parameters from the query string and/or a form body; V3 or V2 signed."""

    def handle_request(self, request_id: str) -> None:
        split = urlsplit(self.path)
        pathname = split.path or "/"
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        headers = self._header_lists()
        entry: Dict[str, Any] = {"server": self.server.name, "time": iso(utc_now()),
                                 "request_id": request_id, "http_method": self.command, "path": pathname,
                                 "action": None, "signature": None, "access_key_id": None,
                                 "security_token": False, "status": None, "code": None, "fault": None,
                                 "params": {}, "query_keys": sorted(query), "body_keys": []}
        try:
            body = self._read_body()
            params = dict(query)
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if body and ctype == "application/x-www-form-urlencoded":
                try:
                    form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
                except UnicodeDecodeError:
                    raise ApiError(400, "InvalidParameter", "The form body is not UTF-8.")
                entry["body_keys"] = sorted(form)
                params.update(form)
            action = params.get("Action") or self.headers.get("x-acs-action")
            entry["action"] = action
            entry["params"] = {k: ("<redacted>" if k in SECRET_PARAMS else v) for k, v in params.items()}
            entry["content_type"] = self.headers.get("Content-Type")
            fault = STATE.take_fault(self.server.name, action)
            if fault is not None:
                entry["fault"] = fault["kind"]
                if self.apply_fault(fault, entry, request_id):
                    return
            status, obj = self.rpc(action, pathname, query, params, headers, body, entry, request_id)
            entry["status"] = status
            STATE.record(entry)
            self.send_json(status, obj, request_id)
        except ApiError as err:
            entry["status"], entry["code"] = err.status, err.code
            STATE.record(entry)
            raise

    # ---- faults (loopback.BaseHandler.apply_fault, with JSON bodies) ----
    GARBAGE_BODY = b"<html><body>this is not JSON</body></html>\n"

    def fault_errors(self) -> Dict[str, Tuple[int, str, str]]:
        errors = super().fault_errors()
        errors["expired_credentials"] = (400, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired.")
        return errors

    def truncated_body(self, request_id: str) -> bytes:
        return json.dumps({"RequestId": request_id, "Plaintext": "truncated"}).encode("utf-8")

    def oversized_parts(self, request_id: str, size: int) -> Tuple[bytes, int, bytes]:
        head, tail = b'{"RequestId":"' + request_id.encode("ascii") + b'","Padding":"', b'"}'
        return head, max(size - len(head) - len(tail), 0), tail

    def rpc(self, action: Optional[str], pathname: str, query: Dict[str, str], params: Dict[str, str],
            headers: Dict[str, List[str]], body: bytes, entry: Dict[str, Any],
            request_id: str) -> Tuple[int, Dict[str, Any]]:
        raise NotImplementedError

    def authenticate_into(self, pathname: str, query: Dict[str, str], params: Dict[str, str],
                          headers: Dict[str, List[str]], body: bytes, entry: Dict[str, Any]) -> AuthResult:
        # Record who the caller claims to be before verifying, so failed requests are logged too.
        if "authorization" in headers:
            entry["signature"] = "V3"
            cred = headers["authorization"][0].partition("Credential=")[2].split(",")[0]
            entry["access_key_id"] = cred or None
            entry["security_token"] = "x-acs-security-token" in headers
        elif "Signature" in params:
            entry["signature"] = "V2"
            entry["access_key_id"] = params.get("AccessKeyId")
            entry["security_token"] = bool(params.get("SecurityToken"))
        auth = authenticate(self.command, pathname, query, params, headers, body)
        entry["signed_headers"] = auth.signed_headers
        return auth


class KmsHandler(RpcHandler):
    def rpc(self, action: Optional[str], pathname: str, query: Dict[str, str], params: Dict[str, str],
            headers: Dict[str, List[str]], body: bytes, entry: Dict[str, Any],
            request_id: str) -> Tuple[int, Dict[str, Any]]:
        self.authenticate_into(pathname, query, params, headers, body, entry)
        version = params.get("Version") or self.headers.get("x-acs-version")
        if version != KMS_VERSION:
            raise ApiError(400, "InvalidVersion", "Specified parameter Version is not valid.")
        if not action:
            raise ApiError(400, "MissingParameter", "The input parameter \"Action\" is not supplied.")
        return 200, kms_action(action, params, request_id)


class StsHandler(RpcHandler):
    def rpc(self, action: Optional[str], pathname: str, query: Dict[str, str], params: Dict[str, str],
            headers: Dict[str, List[str]], body: bytes, entry: Dict[str, Any],
            request_id: str) -> Tuple[int, Dict[str, Any]]:
        if action == "AssumeRoleWithOIDC":
            # Anonymous in the official client: no signature, no nonce, just the OIDC token.
            entry["signature"] = "anonymous"
            check_time(params.get("Timestamp"), "Timestamp")
            token, provider, role = (require(params, "OIDCToken"), require(params, "OIDCProviderArn"),
                                     require(params, "RoleArn"))
            with STATE.lock:
                regs = list(STATE.oidc)
            if not any(r["provider_arn"] == provider and r["role_arn"] == role for r in regs):
                raise ApiError(400, "EntityNotExist.Role", "The specified role or OIDC provider does not exist.")
            if not any(hmac.compare_digest(r["token"].encode(), token.encode()) and r["provider_arn"] == provider
                       and r["role_arn"] == role for r in regs):
                raise ApiError(400, "AuthenticationFail.OIDCToken.Invalid", "The OIDC token is invalid.")
        elif action == "AssumeRole":
            auth = self.authenticate_into(pathname, query, params, headers, body, entry)
            role = require(params, "RoleArn")
            require(params, "RoleSessionName")
            if auth.access_key_id is None:
                raise ApiError(400, "IncompleteSignature", "unsigned")
        else:
            raise ApiError(404, "InvalidAction.NotFound", "Specified api is not found, please check your url and method.")
        version = params.get("Version") or self.headers.get("x-acs-version")
        if version != STS_VERSION:
            raise ApiError(400, "InvalidVersion", "Specified parameter Version is not valid.")
        duration = params.get("DurationSeconds")
        if duration and (not duration.isdigit() or not 900 <= int(duration) <= 43200):
            raise ApiError(400, "InvalidParameter.DurationSeconds", "The DurationSeconds is out of range.")
        with STATE.lock:
            lifetime = STATE.sts_lifetime
        cred = STATE.issue_sts(lifetime, "sts:" + action)
        session = params.get("RoleSessionName") or "session"
        role_id = "3" + hashlib.sha256(role.encode()).hexdigest()[:17]
        return 200, {
            "RequestId": request_id,
            "AssumedRoleUser": {"Arn": "%s/%s" % (role.replace(":role/", ":assumed-role/"), session),
                                "AssumedRoleId": "%s:%s" % (role_id, session)},
            "Credentials": {"AccessKeyId": cred.ak, "AccessKeySecret": cred.secret,
                            "SecurityToken": cred.token, "Expiration": iso(cred.expires)}}


# --------------------------------------------------------------------------------------------
# ECS metadata service (plain HTTP, as at 100.100.100.200) and the credentials URI
# --------------------------------------------------------------------------------------------

class MetadataHandler(BaseHandler):
    ROLE_PREFIX = "/latest/meta-data/ram/security-credentials/"

    def _text(self, status: int, text: str) -> None:
        self._send(status, text.encode("utf-8"), content_type="text/plain")

    def handle_request(self, request_id: str) -> None:
        path = urlsplit(self.path).path
        self._read_body()
        entry: Dict[str, Any] = {"server": "metadata", "time": iso(utc_now()), "request_id": request_id,
                                 "http_method": self.command, "path": path, "action": None,
                                 "signature": "anonymous", "access_key_id": None,
                                 "security_token": bool(self.headers.get("X-aliyun-ecs-metadata-token")),
                                 "status": None, "code": None, "fault": None, "params": {},
                                 "ttl_header": self.headers.get("X-aliyun-ecs-metadata-token-ttl-seconds")}
        fault = STATE.take_fault("metadata", None)
        status = self._serve(path, fault, entry)
        entry["status"] = status
        STATE.record(entry)

    def _serve(self, path: str, fault: Optional[Dict[str, Any]], entry: Dict[str, Any]) -> int:
        if fault is not None:
            entry["fault"] = fault["kind"]
            kind = fault["kind"]
            if kind == "slow":
                time.sleep(fault["seconds"])
            elif kind in ("reset", "hang"):
                STATE.record(dict(entry, status=None))
                if kind == "hang":
                    time.sleep(fault["seconds"])
                self.abort()
            elif kind == "garbage":
                self._text(200, "<html>not json</html>")
                return 200
            else:
                status = {"throttle": 429, "unavailable": 503, "internal": 500}.get(kind, 500)
                self._text(status, "fault: %s" % kind)
                return status
        with STATE.lock:
            md = dict(STATE.metadata)
        if path == "/latest/api/token":
            if self.command != "PUT":
                self._text(405, "Method Not Allowed")
                return 405
            if md["token_put_fails"]:
                self._text(int(md["token_put_status"]), "token service unavailable")
                return int(md["token_put_status"])
            ttl = self.headers.get("X-aliyun-ecs-metadata-token-ttl-seconds", "")
            if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                self._text(400, "Bad Request: X-aliyun-ecs-metadata-token-ttl-seconds")
                return 400
            token = "imds-" + secrets.token_urlsafe(24)
            with STATE.lock:
                STATE.imds_tokens[token] = utc_now() + int(ttl)
            self._text(200, token)
            return 200
        if path == "/credentials-uri":
            cred = STATE.issue_sts(int(md["lifetime_seconds"]), "credentials-uri")
            self.send_json(200, {"Code": "Success", "AccessKeyId": cred.ak, "AccessKeySecret": cred.secret,
                                 "SecurityToken": cred.token, "Expiration": iso(cred.expires)})
            return 200
        if path.startswith(self.ROLE_PREFIX):
            if self.command != "GET":
                self._text(405, "Method Not Allowed")
                return 405
            if md["hardened"]:
                token = self.headers.get("X-aliyun-ecs-metadata-token")
                with STATE.lock:
                    valid = token is not None and STATE.imds_tokens.get(token, 0) > utc_now()
                if not valid:
                    self._text(401, "Unauthorized")
                    return 401
            role = path[len(self.ROLE_PREFIX):]
            if role == "":
                self._text(200, md["role_name"])
                return 200
            if role != md["role_name"]:
                self._text(404, "Not Found")
                return 404
            cred = STATE.issue_sts(int(md["lifetime_seconds"]), "ecs-metadata")
            self.send_json(200, {"AccessKeyId": cred.ak, "AccessKeySecret": cred.secret,
                                 "SecurityToken": cred.token, "Expiration": iso(cred.expires),
                                 "LastUpdated": iso(utc_now()), "Code": "Success"})
            return 200
        self._text(404, "Not Found")
        return 404


# --------------------------------------------------------------------------------------------
# Control API (plain HTTP JSON, tests only)
# --------------------------------------------------------------------------------------------


class ControlHandler(loopback.ControlApi, BaseHandler):
    """loopback.ControlApi's routes, plus accounts, STS, OIDC and metadata settings."""

    def routes(self) -> Dict[Tuple[str, str], Callable[[Any], Any]]:
        route = super().routes()
        route.update({
            ("GET", "/accounts"): lambda d: {"accounts": sorted(STATE.accounts)},
            ("POST", "/accounts"): self.post_accounts,
            ("POST", "/sts"): self.post_sts,
            ("POST", "/oidc"): self.post_oidc,
            ("GET", "/metadata"): lambda d: dict(STATE.metadata),
            ("POST", "/metadata"): self.post_metadata,
        })
        return route

    def post_reset(self, d: Any) -> Any:
        STATE.nonces.clear()
        return super().post_reset(d)

    def post_accounts(self, d: Any) -> Any:
        d = self._obj(d)
        ak, secret = d.get("access_key_id"), d.get("access_key_secret")
        if not isinstance(ak, str) or not ak:
            raise ApiError(400, "InvalidParameter", "access_key_id required")
        if d.get("delete"):
            STATE.accounts.pop(ak, None)
        else:
            if not isinstance(secret, str) or not secret:
                raise ApiError(400, "InvalidParameter", "access_key_secret required")
            STATE.accounts[ak] = secret
        return {"ok": True, "accounts": sorted(STATE.accounts)}

    def post_sts(self, d: Any) -> Any:
        d = self._obj(d)
        if "lifetime_seconds" in d:
            STATE.sts_lifetime = int(d["lifetime_seconds"])
        if d.get("expire_all"):
            for cred in STATE.sts.values():
                cred.expires = utc_now() - 1
        return {"ok": True, "lifetime_seconds": STATE.sts_lifetime}

    def post_oidc(self, d: Any) -> Any:
        d = self._obj(d)
        reg = {k: str(d[k]) for k in ("token", "provider_arn", "role_arn") if k in d}
        if len(reg) != 3:
            raise ApiError(400, "InvalidParameter", "token, provider_arn and role_arn required")
        if d.get("replace"):
            STATE.oidc.clear()
        STATE.oidc.append(reg)
        return {"ok": True, "oidc": len(STATE.oidc)}

    def post_metadata(self, d: Any) -> Any:
        d = self._obj(d)
        for k in ("role_name", "hardened", "lifetime_seconds", "token_put_fails", "token_put_status"):
            if k in d:
                STATE.metadata[k] = d[k]
        return dict(STATE.metadata)


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------

def main(argv: Optional[List[str]] = None) -> int:
    args = loopback.parse_args(__doc__, "folder for the generated certificates", argv)
    paths, _ca_key, _ca_cert = loopback.generate_certificates(os.path.abspath(args.dir), selfsigned=True)
    ca_tls = loopback.server_tls_context(paths["server.pem"], paths["server-key.pem"])
    ss_tls = loopback.server_tls_context(paths["selfsigned.pem"], paths["selfsigned-key.pem"])
    servers = {
        "kms": LoopbackServer("kms", KmsHandler, ca_tls),
        "kms_plain": LoopbackServer("kms_plain", KmsHandler, None),
        "kms_selfsigned": LoopbackServer("kms_selfsigned", KmsHandler, ss_tls),
        "sts": LoopbackServer("sts", StsHandler, ca_tls),
        "metadata": LoopbackServer("metadata", MetadataHandler, None),
        "control": LoopbackServer("control", ControlHandler, None),
    }
    ready: Dict[str, Any] = {name: srv.address for name, srv in servers.items()}
    ready["metadata"] = "http://" + ready["metadata"]
    ready["control"] = "http://" + ready["control"]
    ready["ca"] = paths["ca.pem"]
    ready["other_ca"] = paths["other-ca.pem"]
    loopback.serve(servers, ready, watch_stdin=not args.no_stdin)


if __name__ == "__main__":
    sys.exit(main())
