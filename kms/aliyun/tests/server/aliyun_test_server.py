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

Python 3.9+ (standard library + cryptography + the two signing packages).
"""

from __future__ import annotations

import argparse
import base64
import datetime
import hashlib
import hmac
import ipaddress
import json
import os
import secrets
import signal
import socket
import ssl
import struct
import sys
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import parse_qsl, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# The official signing code (see module docstring). aliyunsdkcore's composer keeps its string-
# to-sign helpers module-private (double underscore, not mangled at module level): getattr.
from alibabacloud_openapi_util.client import Client as OpenApiUtil
from aliyunsdkcore.auth.algorithm import sha_hmac1
from aliyunsdkcore.auth.composer import rpc_signature_composer

SDKCORE_COMPOSE = getattr(rpc_signature_composer, "__compose_string_to_sign")
SDKCORE_SIGN = getattr(rpc_signature_composer, "__get_signature")

KMS_VERSION = "2016-01-20"
STS_VERSION = "2015-04-01"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
MAX_SKEW_SECONDS = 15 * 60
MAX_BODY = 1 << 20  # a KMS request is small; anything larger is refused
ENCRYPT_PLAINTEXT_LIMIT = 6144  # the real Encrypt refuses more than 6 KiB
DEFAULT_ACCOUNT = ("LTAI5tTestAccessKeyId", "TestAccessKeySecret0123456789abc")
SECRET_PARAMS = {"Signature", "SecurityToken", "OIDCToken", "Plaintext", "AccessKeySecret"}

VERBOSE = False


def log(msg: str) -> None:
    """Everything the server says goes to stderr; stdout carries only the ready line."""
    try:
        sys.stderr.write("[aliyun-test-server] %s\n" % msg)
        sys.stderr.flush()
    except Exception:
        pass


def utc_now() -> float:
    return time.time()


def iso(ts: float) -> str:
    return time.strftime(TIME_FORMAT, time.gmtime(ts))


def parse_iso(text: str) -> Optional[float]:
    try:
        dt = datetime.datetime.strptime(text, TIME_FORMAT).replace(tzinfo=datetime.timezone.utc)
        return dt.timestamp()
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------------------------
# Certificates
# --------------------------------------------------------------------------------------------

def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "libnacoscrypt tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_pem(path: str, data: bytes, private: bool = False) -> None:
    with open(path, "wb") as f:
        f.write(data)
    if private:
        os.chmod(path, 0o600)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _make_ca(cn: str) -> Tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(_name(cn)).issuer_name(_name(cn))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, key_cert_sign=True, crl_sign=True,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def _make_leaf(issuer_key: Optional[ec.EllipticCurvePrivateKey],
               issuer_cert: Optional[x509.Certificate]) -> Tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A server certificate for localhost and 127.0.0.1; self-signed when no issuer is given."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = _name("localhost")
    builder = (x509.CertificateBuilder()
               .subject_name(subject)
               .issuer_name(issuer_cert.subject if issuer_cert is not None else subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(days=1))
               .not_valid_after(now + datetime.timedelta(days=90))
               .add_extension(x509.SubjectAlternativeName([
                   x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                   critical=False)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                            key_encipherment=False, data_encipherment=False,
                                            key_agreement=True, key_cert_sign=False, crl_sign=False,
                                            encipher_only=False, decipher_only=False), critical=True)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if issuer_cert is not None and issuer_key is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False)
        cert = builder.sign(issuer_key, hashes.SHA256())
    else:
        cert = builder.sign(key, hashes.SHA256())
    return key, cert


def generate_certificates(directory: str) -> Dict[str, str]:
    """ca.pem (test CA), server.pem/server-key.pem (signed by it), other-ca.pem (an unrelated CA,
    for wrong-CA tests) and selfsigned.pem/selfsigned-key.pem. Returns their paths."""
    os.makedirs(directory, exist_ok=True)
    paths = {name: os.path.join(directory, name) for name in (
        "ca.pem", "ca-key.pem", "server.pem", "server-key.pem", "other-ca.pem",
        "selfsigned.pem", "selfsigned-key.pem")}
    ca_key, ca_cert = _make_ca("libnacoscrypt test CA")
    srv_key, srv_cert = _make_leaf(ca_key, ca_cert)
    _other_key, other_cert = _make_ca("libnacoscrypt unrelated CA")
    ss_key, ss_cert = _make_leaf(None, None)
    pem = serialization.Encoding.PEM
    _write_pem(paths["ca.pem"], ca_cert.public_bytes(pem))
    _write_pem(paths["ca-key.pem"], _key_pem(ca_key), private=True)
    _write_pem(paths["server.pem"], srv_cert.public_bytes(pem))
    _write_pem(paths["server-key.pem"], _key_pem(srv_key), private=True)
    _write_pem(paths["other-ca.pem"], other_cert.public_bytes(pem))
    _write_pem(paths["selfsigned.pem"], ss_cert.public_bytes(pem))
    _write_pem(paths["selfsigned-key.pem"], _key_pem(ss_key), private=True)
    return paths


def server_tls_context(cert: str, key: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


# --------------------------------------------------------------------------------------------
# State shared by every server (one lock; requests are few and small)
# --------------------------------------------------------------------------------------------

class ApiError(Exception):
    """An error answered as the real service does: JSON {RequestId, HostId, Code, Message,
    Recommend} with an HTTP status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__("%s %s: %s" % (status, code, message))
        self.status = status
        self.code = code
        self.message = message


class Key:
    def __init__(self, key_id: str, aliases: List[str], state: str) -> None:
        self.key_id = key_id
        self.aliases = list(aliases)
        self.state = state
        self.versions: List[Tuple[str, bytes]] = []  # (version id, 32-byte AES key), oldest first
        self.rotate()

    def rotate(self) -> str:
        vid = str(uuid.uuid4())
        self.versions.append((vid, AESGCM.generate_key(bit_length=256)))
        return vid

    @property
    def current(self) -> Tuple[str, bytes]:
        return self.versions[-1]

    def to_json(self) -> Dict[str, Any]:
        return {"key_id": self.key_id, "aliases": self.aliases, "state": self.state,
                "current_version": self.current[0], "versions": [v for v, _ in self.versions]}


class StsCredential:
    def __init__(self, ak: str, secret: str, token: str, expires: float, source: str) -> None:
        self.ak, self.secret, self.token, self.expires, self.source = ak, secret, token, expires, source


class State:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.accounts: Dict[str, str] = {DEFAULT_ACCOUNT[0]: DEFAULT_ACCOUNT[1]}
        self.sts: Dict[str, StsCredential] = {}
        self.keys: Dict[str, Key] = {}
        self.aliases: Dict[str, str] = {}
        self.nonces: Dict[str, float] = {}
        self.faults: List[Dict[str, Any]] = []
        self.requests: List[Dict[str, Any]] = []
        self.sts_lifetime = 3600
        self.oidc: List[Dict[str, str]] = [{
            "token": "test-oidc-token",
            "provider_arn": "acs:ram::1234567890123456:oidc-provider/test-provider",
            "role_arn": "acs:ram::1234567890123456:role/test-oidc-role"}]
        self.metadata = {"role_name": "test-ecs-role", "hardened": True, "lifetime_seconds": 3600,
                         "token_put_fails": False, "token_put_status": 403}
        self.imds_tokens: Dict[str, float] = {}
        self.put_key({"key_id": "key-mse-0000-0000-0000-000000000001", "aliases": ["alias/acs/mse"]})
        self.put_key({"key_id": "key-test-0000-0000-0000-000000000002", "aliases": ["alias/test"]})

    # ---- keys ----
    def put_key(self, spec: Dict[str, Any]) -> Dict[str, Any]:
        key_id = spec.get("key_id")
        if not isinstance(key_id, str) or not key_id or len(key_id) > 128:
            raise ApiError(400, "InvalidParameter", "key_id must be a non-empty string")
        with self.lock:
            if spec.get("delete"):
                key = self.keys.pop(key_id, None)
                if key is not None:
                    for a in key.aliases:
                        self.aliases.pop(a, None)
                return {"deleted": key_id}
            key = self.keys.get(key_id)
            state = spec.get("state", key.state if key else "Enabled")
            if state not in ("Enabled", "Disabled", "PendingDeletion"):
                raise ApiError(400, "InvalidParameter", "state must be Enabled, Disabled or PendingDeletion")
            if key is None:
                key = Key(key_id, [], state)
                self.keys[key_id] = key
            key.state = state
            if "aliases" in spec:
                for a in key.aliases:
                    self.aliases.pop(a, None)
                key.aliases = [str(a) for a in spec["aliases"]]
                for a in key.aliases:
                    old = self.aliases.get(a)
                    if old is not None and old != key_id and old in self.keys:
                        self.keys[old].aliases.remove(a)
                    self.aliases[a] = key_id
            if spec.get("rotate"):
                key.rotate()
            return key.to_json()

    def resolve_key(self, key_id: str) -> Key:
        """KeyId may be a key id, an alias (alias/...), or an ARN ending in key/ID or alias/NAME."""
        with self.lock:
            ident = key_id
            if ident.startswith("acs:kms:"):
                tail = ident.split(":", 5)[-1]
                ident = tail[len("key/"):] if tail.startswith("key/") else tail
            if ident in self.aliases:
                ident = self.aliases[ident]
            key = self.keys.get(ident)
            if key is None:
                raise ApiError(404, "Forbidden.KeyNotFound", "The specified Key is not found.")
            return key

    def key_by_version(self, version_id: str) -> Tuple[Key, bytes]:
        with self.lock:
            for key in self.keys.values():
                for vid, material in key.versions:
                    if vid == version_id:
                        return key, material
        raise ApiError(404, "Forbidden.KeyNotFound", "The specified Key is not found.")

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

    # ---- faults and log ----
    def take_fault(self, server: str, action: Optional[str]) -> Optional[Dict[str, Any]]:
        with self.lock:
            for fault in self.faults:
                if fault["server"] != server or fault["count"] <= 0:
                    continue
                if fault.get("action") and fault["action"] != action:
                    continue
                fault["count"] -= 1
                taken = dict(fault)
                self.faults = [f for f in self.faults if f["count"] > 0]
                return taken
        return None

    def record(self, entry: Dict[str, Any]) -> None:
        with self.lock:
            self.requests.append(entry)
            if len(self.requests) > 5000:
                del self.requests[:1000]


STATE = State()

FAULT_KINDS = {"throttle", "unavailable", "internal", "slow", "reset", "garbage", "truncated",
               "oversized", "expired_credentials", "hang"}
SERVER_NAMES = {"kms", "kms_plain", "kms_selfsigned", "sts", "metadata"}


def normalize_fault(raw: Any) -> Dict[str, Any]:
    if not isinstance(raw, dict):
        raise ApiError(400, "InvalidParameter", "a fault is a JSON object")
    server = raw.get("server", "kms")
    kind = raw.get("kind")
    if server not in SERVER_NAMES:
        raise ApiError(400, "InvalidParameter", "server must be one of %s" % sorted(SERVER_NAMES))
    if kind not in FAULT_KINDS:
        raise ApiError(400, "InvalidParameter", "kind must be one of %s" % sorted(FAULT_KINDS))
    fault: Dict[str, Any] = {"server": server, "kind": kind, "count": int(raw.get("count", 1))}
    if raw.get("action"):
        fault["action"] = str(raw["action"])
    fault["seconds"] = float(raw.get("seconds", 30.0 if kind == "hang" else 2.0))
    fault["bytes"] = int(raw.get("bytes", 8 << 20))
    return fault


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


def check_enabled(key: Key) -> None:
    if key.state == "Disabled":
        raise ApiError(400, "Forbidden.KeyNotEnabled", "The specified Key is not enabled.")
    if key.state == "PendingDeletion":
        raise ApiError(400, "Forbidden.KeyNotEnabled", "The specified Key is pending deletion.")


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
# HTTP plumbing
# --------------------------------------------------------------------------------------------

class LoopbackServer(ThreadingHTTPServer):
    """ThreadingHTTPServer on 127.0.0.1; optional TLS, handshaken in the connection's thread
    (a client that connects and never speaks cannot block the accept loop)."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, name: str, handler: type, tls: Optional[ssl.SSLContext]) -> None:
        self.name = name
        self.tls = tls
        super().__init__(("127.0.0.1", 0), handler)

    @property
    def address(self) -> str:
        return "127.0.0.1:%d" % self.server_address[1]

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.tls is not None:
            request.settimeout(10)
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as e:
                if VERBOSE:
                    log("%s: TLS handshake from %s failed: %s" % (self.name, client_address, e))
                try:
                    request.close()
                except OSError:
                    pass
                return
        self.RequestHandlerClass(request, client_address, self)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, socket.timeout, BrokenPipeError)):
            return
        log("%s: unhandled error from %s:\n%s" % (self.name, client_address, traceback.format_exc()))


class AbortConnection(Exception):
    """Raised by a handler that has already dealt with (or dropped) the connection."""


class BaseHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and
    # the client's delayed ACK add ~40 ms to every keep-alive answer.
    disable_nagle_algorithm = True
    # A garbage request line would otherwise be taken as HTTP/0.9 and answered with a bare body.
    default_request_version = "HTTP/1.0"
    server_version = "AliyunTestServer/1.0"
    sys_version = ""
    timeout = 120  # idle keep-alive connections go away eventually
    server: LoopbackServer

    # ---- request reading ----
    def _read_body(self) -> bytes:
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            total = 0
            while True:
                line = self.rfile.readline(1024).strip()
                size = int(line.split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline(1024).strip():
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    raise ApiError(413, "InvalidParameter", "The request body is too large.")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(8)
            return b"".join(chunks)
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            n = int(length)
        except ValueError:
            self.close_connection = True
            raise ApiError(400, "InvalidParameter", "Bad Content-Length.")
        if n < 0 or n > MAX_BODY:
            self.close_connection = True
            raise ApiError(413, "InvalidParameter", "The request body is too large.")
        return self.rfile.read(n)

    def _header_lists(self) -> Dict[str, List[str]]:
        out: Dict[str, List[str]] = {}
        for k, v in self.headers.items():
            out.setdefault(k.lower(), []).append(v)
        return out

    # ---- responses ----
    def _send(self, status: int, body: bytes, content_type: str = "application/json;charset=utf-8",
              extra: Optional[Dict[str, str]] = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status: int, obj: Any, request_id: Optional[str] = None) -> None:
        extra = {"x-acs-request-id": request_id} if request_id else None
        self._send(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"), extra=extra)

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

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (signature is the base class's)
        if VERBOSE:
            log("%s %s" % (self.server.name, format % args))

    def abort(self) -> None:
        """Close the TCP connection abruptly (RST: SO_LINGER 0), no response."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        try:
            self.connection.close()
        except OSError:
            pass
        raise AbortConnection()

    # ---- dispatch ----
    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        request_id = str(uuid.uuid4()).upper()
        try:
            self.handle_request(request_id)
        except AbortConnection:
            self.close_connection = True
        except ApiError as err:
            self.send_api_error(err, request_id)
        except (ConnectionError, socket.timeout, ssl.SSLError):
            self.close_connection = True
        except Exception:
            log("%s: internal error:\n%s" % (self.server.name, traceback.format_exc()))
            self.close_connection = True
            try:
                self.send_api_error(ApiError(500, "InternalFailure", "Internal Failure."), request_id)
            except OSError:
                pass

    def handle_request(self, request_id: str) -> None:
        raise NotImplementedError


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

    def apply_fault(self, fault: Dict[str, Any], entry: Dict[str, Any], request_id: str) -> bool:
        """Apply a fault; True when the request is fully answered (or dropped)."""
        kind = fault["kind"]
        if kind == "slow":
            time.sleep(fault["seconds"])
            return False
        errors = {"throttle": (429, "Rejected.Throttling", "QPS Limit Exceeded"),
                  "unavailable": (503, "ServiceUnavailableTemporary", "Service Unavailable Temporary."),
                  "internal": (500, "InternalFailure", "Internal Failure."),
                  "expired_credentials": (400, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired.")}
        if kind in errors:
            raise ApiError(*errors[kind])
        entry["status"] = 200 if kind in ("garbage", "truncated", "oversized") else None
        STATE.record(entry)
        if kind == "reset":
            self.abort()
        if kind == "hang":
            time.sleep(fault["seconds"])
            self.abort()
        if kind == "garbage":
            self._send(200, b"<html><body>this is not JSON</body></html>\n")
            return True
        if kind == "truncated":
            body = json.dumps({"RequestId": request_id, "Plaintext": "truncated"}).encode("utf-8")
            self.close_connection = True
            self.send_response(200)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(body) + 100))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            raise AbortConnection()
        if kind == "oversized":
            size = max(fault["bytes"], 16)
            head, tail = b'{"RequestId":"' + request_id.encode("ascii") + b'","Padding":"', b'"}'
            pad = max(size - len(head) - len(tail), 0)
            self.send_response(200)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(head) + pad + len(tail)))
            self.end_headers()
            try:
                self.wfile.write(head)
                chunk = b"A" * 65536
                while pad > 0:
                    self.wfile.write(chunk[: min(pad, len(chunk))])
                    pad -= min(pad, len(chunk))
                self.wfile.write(tail)
            except OSError:
                self.close_connection = True
            return True
        raise ApiError(500, "InternalFailure", "unknown fault %r" % kind)

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

class ControlHandler(BaseHandler):
    def handle_request(self, request_id: str) -> None:
        path = urlsplit(self.path).path.rstrip("/") or "/"
        body = self._read_body()
        data: Any = None
        if body:
            try:
                data = json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                raise ApiError(400, "InvalidParameter", "the body is not JSON")
        route: Dict[Tuple[str, str], Callable[[Any], Any]] = {
            ("GET", "/health"): lambda d: {"ok": True},
            ("GET", "/requests"): lambda d: {"requests": list(STATE.requests)},
            ("GET", "/faults"): lambda d: {"faults": list(STATE.faults)},
            ("POST", "/faults"): self.post_faults,
            ("POST", "/reset"): self.post_reset,
            ("GET", "/accounts"): lambda d: {"accounts": sorted(STATE.accounts)},
            ("POST", "/accounts"): self.post_accounts,
            ("GET", "/keys"): lambda d: {"keys": [k.to_json() for k in STATE.keys.values()]},
            ("POST", "/keys"): lambda d: STATE.put_key(self._obj(d)),
            ("POST", "/sts"): self.post_sts,
            ("POST", "/oidc"): self.post_oidc,
            ("GET", "/metadata"): lambda d: dict(STATE.metadata),
            ("POST", "/metadata"): self.post_metadata,
        }
        fn = route.get((self.command, path))
        if fn is None:
            raise ApiError(404, "NotFound", "no control route %s %s" % (self.command, path))
        with STATE.lock:
            result = fn(data)
        self.send_json(200, result)

    @staticmethod
    def _obj(d: Any) -> Dict[str, Any]:
        if not isinstance(d, dict):
            raise ApiError(400, "InvalidParameter", "expected a JSON object")
        return d

    def post_faults(self, d: Any) -> Any:
        items = d.get("faults") if isinstance(d, dict) and "faults" in d else d
        if isinstance(items, dict):
            items = [items]
        if not isinstance(items, list):
            raise ApiError(400, "InvalidParameter", "expected a JSON list of faults")
        faults = [normalize_fault(f) for f in items]
        STATE.faults.extend(faults)
        return {"ok": True, "faults": list(STATE.faults)}

    def post_reset(self, d: Any) -> Any:
        STATE.faults.clear()
        STATE.requests.clear()
        STATE.nonces.clear()
        return {"ok": True}

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
    global VERBOSE
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", required=True, help="folder for the generated certificates")
    ap.add_argument("--verbose", action="store_true", help="log every request to stderr")
    ap.add_argument("--no-stdin", action="store_true",
                    help="do not exit on stdin EOF (manual runs; stop with SIGTERM/Ctrl-C)")
    args = ap.parse_args(argv)
    VERBOSE = args.verbose or os.environ.get("ALIYUN_TEST_SERVER_VERBOSE") == "1"

    directory = os.path.abspath(args.dir)
    paths = generate_certificates(directory)
    ca_tls = server_tls_context(paths["server.pem"], paths["server-key.pem"])
    ss_tls = server_tls_context(paths["selfsigned.pem"], paths["selfsigned-key.pem"])
    servers = {
        "kms": LoopbackServer("kms", KmsHandler, ca_tls),
        "kms_plain": LoopbackServer("kms_plain", KmsHandler, None),
        "kms_selfsigned": LoopbackServer("kms_selfsigned", KmsHandler, ss_tls),
        "sts": LoopbackServer("sts", StsHandler, ca_tls),
        "metadata": LoopbackServer("metadata", MetadataHandler, None),
        "control": LoopbackServer("control", ControlHandler, None),
    }
    for srv in servers.values():
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2},
                         name="serve-" + srv.name, daemon=True).start()

    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    if not args.no_stdin:
        def watch_stdin() -> None:
            try:
                while os.read(sys.stdin.fileno(), 4096):
                    pass
            except Exception:
                pass
            stop.set()
        threading.Thread(target=watch_stdin, name="stdin-eof", daemon=True).start()

    ready = {name: srv.address for name, srv in servers.items()}
    ready["metadata"] = "http://" + ready["metadata"]
    ready["control"] = "http://" + ready["control"]
    ready["ca"] = paths["ca.pem"]
    ready["other_ca"] = paths["other-ca.pem"]
    sys.stdout.write(json.dumps(ready) + "\n")
    sys.stdout.flush()
    log("ready: %s" % json.dumps(ready))

    while not stop.wait(0.5):
        pass
    # Exit at once: every serving thread is a daemon and the OS closes the sockets; a handler
    # sleeping in a "hang" or "slow" fault must not keep the process alive.
    log("stopping")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
