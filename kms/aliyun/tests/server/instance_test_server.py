#!/usr/bin/env python3
"""Loopback stand-in for an Alibaba Cloud KMS 3.0 instance (the "dkms-gcs" instance API, ClientKey
access), for the tests of kms/aliyun.

Who uses it: the Rust tests of the instance client in kms/aliyun, and
kms/aliyun/tests/test_instance_server_official_sdk.py, which proves that the OFFICIAL SDKs
(alibabacloud-dkms-gcs 1.0.2 and the transfer client of alibabacloud-kms-python-sdk 1.1.3) work
against it. Same conventions as aliyun_test_server.py (the OpenAPI stand-in): one JSON ready line,
a plain-HTTP control API, the same fault kinds, exit on stdin EOF.

    PY instance_test_server.py --dir DIR

writes into DIR a test CA (ca.pem), an unrelated CA (other-ca.pem), a server certificate for
localhost and 127.0.0.1 (server.pem), and ClientKeys (JSON {"KeyId", "PrivateKeyData"}, the
PKCS#12 base64, and a password file holding the password with no newline):

    clientKey_good.json     + .password   valid
    clientKey_expired.json  + .password   its certificate's NotAfter is in the past
    clientKey_foreign.json  + .password   a KeyId this instance does not know
    clientKey_legacy.json   + .password   valid, PKCS#12 with the legacy SHA1/3DES encryption
    clientKey_good.pem                    the good ClientKey's private key, PKCS#8 PEM, unencrypted

(the good/expired/foreign PKCS#12 use PBES2 AES-256-CBC + HMAC-SHA256, as current OpenSSL and Java
write them; "legacy" is what older tools wrote), starts the servers on ephemeral ports of 127.0.0.1
(never another address: no test may reach the internet), prints ONE JSON line on stdout

    {"instance": "127.0.0.1:P", "control": "http://127.0.0.1:P", "ca": "DIR/ca.pem",
     "other_ca": "DIR/other-ca.pem",
     "client_key_good": "DIR/clientKey_good.json", "client_key_good_password": "...",
     "client_key_expired": ..., "client_key_expired_password": ...,
     "client_key_foreign": ..., "client_key_foreign_password": ...,
     "client_key_legacy": ..., "client_key_legacy_password": ...,
     "client_key_good_pem": "DIR/clientKey_good.pem",
     "client_key_good_id": "KAAP....", "client_key_expired_id": ..., "client_key_foreign_id": ...,
     "client_key_legacy_id": ...}

and serves until its stdin reaches EOF or it gets SIGTERM/SIGINT. Logs go to stderr only.

Servers:
  instance  HTTPS (certificate from ca.pem): POST / with a protobuf body (package `protobuf` of the
            SDK's api.proto), APIs Encrypt, Decrypt, GenerateDataKey, AdvanceEncrypt,
            AdvanceDecrypt, AdvanceGenerateDataKey, GenerateRandom.
  control   plain HTTP JSON API for tests (see ControlHandler).

Authentication (every request): x-kms-apiversion dkms-gcs-0.2, x-kms-signaturemethod
RSA_PKCS1_SHA_256, x-kms-acccesskeyid (sic) = a known ClientKey id whose certificate is valid now,
content-sha256 = upper-case hex sha256 of the body, date (RFC 7231) within 15 minutes, and
authorization "Bearer " + base64(RSA PKCS#1 v1.5 SHA-256 signature) over the string to sign,
which is rebuilt by calling the SDK's OWN openapi_util.client.Client.get_string_to_sign (never a
reimplementation) and verified with the ClientKey certificate's public key (cryptography).

Crypto: AES-256-GCM, 12-byte IV, AAD = the request's Aad bytes verbatim (the instance does not
interpret them; the OpenAPI-style EncryptionContext JSON is turned into Aad by the client).
  Encrypt          -> CiphertextBlob = ct||tag, Iv, header x-kms-migrationkeyversionid: <version>
  Decrypt          <- CiphertextBlob = ct||tag, Iv, Aad, and the key version from the request
                      header x-kms-migrationkeyversionid (what the transfer client sends; it sends
                      NO KeyId) or, without that header, KeyId (what the raw SDK's caller sends:
                      every version of that key is tried, newest first). Answers the header too.
  GenerateDataKey  -> NumberOfBytes (default 32) random bytes as Plaintext, and those raw bytes
                      encrypted: CiphertextBlob, Iv, the version header.
  Advance*         the "advance" APIs the 1.1.3 transfer client uses BY DEFAULT: CiphertextBlob =
                      '$' 0x00 0x02 || version id (36 ASCII) || iv (12) || ct||tag, KeyVersionId in
                      the body; AdvanceDecrypt needs only that blob (Iv optional, must match).

Errors: HTTP 4xx/5xx with a protobuf Error{StatusCode, ErrorCode, ErrorMessage, RequestId}.
  bad/missing signature      400 InvalidParam  "The Param Authorization is invalid."   (SDK-known)
  bad/missing/skewed date    400 InvalidParam  "The Param Date is invalid."            (SDK-known)
  unknown ClientKey id       401 Unauthorized                                          (SDK-known)
  expired ClientKey          401 Forbidden.ClientKeyExpired        (no public source; our choice)
  other bad parameters       400 InvalidParam  "The Param <name> is invalid."
  unknown key / version      404 Forbidden.KeyNotFound "The specified Key is not found." (SDK-known)
  disabled key               400 Forbidden.KeyNotEnabled
  wrong Aad / tampered blob  400 InvalidParameter (our choice: the 1.1.3 transfer client raises a
                             bare TypeError for InvalidParam with any message but the two above)
  faults: throttle 429 Rejected.Throttling (the SDK's is_retry_err: retried), unavailable 503
  ServiceUnavailableTemporary, internal 500 InternalFailure.
(SDK-known: the transfer client's kms_error_code_transfer_utils maps exactly these codes/messages.)

Python 3.9+ (standard library + cryptography + the dkms-gcs SDK's openapi_util and protobuf).
"""

from __future__ import annotations

import argparse
import base64
import datetime
import email.utils
import hashlib
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
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# The official string to sign (see module docstring) and the official protobuf messages.
from openapi_util.client import Client as DkmsUtil
from openapi_util.protobuf import api_pb2

API_VERSION = "dkms-gcs-0.2"
SIGNATURE_METHOD = "RSA_PKCS1_SHA_256"
MIGRATION_HEADER = "x-kms-migrationkeyversionid"
MAX_SKEW_SECONDS = 15 * 60
MAX_BODY = 1 << 20
ENCRYPT_PLAINTEXT_LIMIT = 6144
ADVANCE_HEADER = b"$\x00\x02"  # magic '$', cipher version 0 << 4 | padding 0, algorithm 2 = AES-GCM
ALGORITHM = "AES_GCM"
VERBOSE = False


def log(msg: str) -> None:
    try:
        sys.stderr.write("[instance-test-server] %s\n" % msg)
        sys.stderr.flush()
    except Exception:
        pass


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


# --------------------------------------------------------------------------------------------
# Certificates and ClientKeys
# --------------------------------------------------------------------------------------------

def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "libnacoscrypt tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(path: str, data: bytes, private: bool = False) -> None:
    with open(path, "wb") as f:
        f.write(data)
    if private:
        os.chmod(path, 0o600)


def _key_pem(key: Any) -> bytes:
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


def _make_server_leaf(ca_key: ec.EllipticCurvePrivateKey,
                      ca_cert: x509.Certificate) -> Tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(_name("localhost")).issuer_name(ca_cert.subject)
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
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


class ClientKey:
    """A ClientKey as the instance knows it: id, certificate (public key, validity)."""

    def __init__(self, key_id: str, cert: x509.Certificate, name: str) -> None:
        self.key_id = key_id
        self.cert = cert
        self.name = name
        self.public_key = cert.public_key()
        self.not_before = _cert_time(cert, "before")
        self.not_after = _cert_time(cert, "after")

    def to_json(self) -> Dict[str, Any]:
        return {"key_id": self.key_id, "name": self.name, "not_before": iso(self.not_before),
                "not_after": iso(self.not_after)}


def _cert_time(cert: x509.Certificate, which: str) -> float:
    attr = "not_valid_%s_utc" % which
    if hasattr(cert, attr):  # cryptography >= 42
        return getattr(cert, attr).timestamp()
    naive = getattr(cert, "not_valid_%s" % which)
    return naive.replace(tzinfo=datetime.timezone.utc).timestamp()


def make_client_key(directory: str, name: str, ca_key: ec.EllipticCurvePrivateKey,
                    ca_cert: x509.Certificate, expired: bool = False,
                    legacy: bool = False) -> Tuple[ClientKey, Dict[str, str], rsa.RSAPrivateKey]:
    """clientKey_<name>.json (+ .password): an RSA-2048 key and its certificate (issued by the
    test CA, CN = the KeyId) in a password-protected PKCS#12, base64 in PrivateKeyData."""
    key_id = "KAAP." + str(uuid.uuid4())
    password = secrets.token_urlsafe(18)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = datetime.datetime.now(datetime.timezone.utc)
    if expired:
        not_before, not_after = now - datetime.timedelta(days=400), now - datetime.timedelta(days=1)
    else:
        not_before, not_after = now - datetime.timedelta(days=1), now + datetime.timedelta(days=365)
    cert = (x509.CertificateBuilder()
            .subject_name(_name(key_id)).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    if legacy:
        enc = (serialization.PrivateFormat.PKCS12.encryption_builder().kdf_rounds(2048)
               .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
               .hmac_hash(hashes.SHA1()).build(password.encode("utf-8")))
    else:
        enc = (serialization.PrivateFormat.PKCS12.encryption_builder().kdf_rounds(10000)
               .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
               .hmac_hash(hashes.SHA256()).build(password.encode("utf-8")))
    p12 = pkcs12.serialize_key_and_certificates(key_id.encode("ascii"), key, cert, None, enc)
    paths = {"json": os.path.join(directory, "clientKey_%s.json" % name),
             "password": os.path.join(directory, "clientKey_%s.password" % name)}
    _write(paths["json"], json.dumps({"KeyId": key_id,
                                      "PrivateKeyData": base64.b64encode(p12).decode("ascii")}).encode(),
           private=True)
    _write(paths["password"], password.encode("utf-8"), private=True)
    return ClientKey(key_id, cert, name), paths, key


def generate_files(directory: str) -> Tuple[Dict[str, Any], List[ClientKey], Dict[str, str]]:
    """Everything --dir gets. Returns (ready-line fields, ClientKeys the instance knows, TLS paths)."""
    os.makedirs(directory, exist_ok=True)
    pem = serialization.Encoding.PEM
    ca_key, ca_cert = _make_ca("libnacoscrypt test CA")
    srv_key, srv_cert = _make_server_leaf(ca_key, ca_cert)
    _other_key, other_cert = _make_ca("libnacoscrypt unrelated CA")
    tls = {"cert": os.path.join(directory, "server.pem"), "key": os.path.join(directory, "server-key.pem")}
    _write(os.path.join(directory, "ca.pem"), ca_cert.public_bytes(pem))
    _write(os.path.join(directory, "ca-key.pem"), _key_pem(ca_key), private=True)
    _write(tls["cert"], srv_cert.public_bytes(pem))
    _write(tls["key"], _key_pem(srv_key), private=True)
    _write(os.path.join(directory, "other-ca.pem"), other_cert.public_bytes(pem))
    ready: Dict[str, Any] = {"ca": os.path.join(directory, "ca.pem"),
                             "other_ca": os.path.join(directory, "other-ca.pem")}
    known: List[ClientKey] = []
    for name, expired, legacy, is_known in (("good", False, False, True), ("expired", True, False, True),
                                            ("foreign", False, False, False), ("legacy", False, True, True)):
        ck, paths, key = make_client_key(directory, name, ca_key, ca_cert, expired=expired, legacy=legacy)
        ready["client_key_%s" % name] = paths["json"]
        ready["client_key_%s_password" % name] = paths["password"]
        ready["client_key_%s_id" % name] = ck.key_id
        if is_known:
            known.append(ck)
        if name == "good":
            pem_path = os.path.join(directory, "clientKey_good.pem")
            _write(pem_path, _key_pem(key), private=True)
            ready["client_key_good_pem"] = pem_path
    return ready, known, tls


def server_tls_context(cert: str, key: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


# --------------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------------

class ApiError(Exception):
    """An error answered as the instance does: protobuf Error with an HTTP status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__("%s %s: %s" % (status, code, message))
        self.status, self.code, self.message = status, code, message


def bad_param(name: str) -> ApiError:
    return ApiError(400, "InvalidParam", "The Param %s is invalid." % name)


def key_not_found() -> ApiError:
    return ApiError(404, "Forbidden.KeyNotFound", "The specified Key is not found.")


class Key:
    def __init__(self, key_id: str, state: str) -> None:
        self.key_id = key_id
        self.aliases: List[str] = []
        self.state = state
        self.versions: List[Tuple[str, bytes]] = []  # (version id, AES-256 key), oldest first
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


class State:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.keys: Dict[str, Key] = {}
        self.aliases: Dict[str, str] = {}
        self.client_keys: Dict[str, ClientKey] = {}
        self.faults: List[Dict[str, Any]] = []
        self.requests: List[Dict[str, Any]] = []
        self.put_key({"key_id": "key-mse-0000-0000-0000-000000000001", "aliases": ["alias/acs/mse"]})
        self.put_key({"key_id": "key-test-0000-0000-0000-000000000002", "aliases": ["alias/test"]})

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
                key = Key(key_id, state)
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
        """A key id, an alias (alias/...), or an ARN ending in key/ID or alias/NAME."""
        with self.lock:
            ident = key_id
            if ident.startswith("acs:kms:"):
                tail = ident.split(":", 5)[-1]
                ident = tail[len("key/"):] if tail.startswith("key/") else tail
            ident = self.aliases.get(ident, ident)
            key = self.keys.get(ident)
            if key is None:
                raise key_not_found()
            return key

    def key_by_version(self, version_id: str) -> Tuple[Key, bytes]:
        with self.lock:
            for key in self.keys.values():
                for vid, material in key.versions:
                    if vid == version_id:
                        return key, material
        raise key_not_found()

    def take_fault(self, server: str, api: Optional[str]) -> Optional[Dict[str, Any]]:
        with self.lock:
            for fault in self.faults:
                if fault["server"] != server or fault["count"] <= 0:
                    continue
                if fault.get("action") and fault["action"] != api:
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
               "oversized", "hang"}
SERVER_NAMES = {"instance"}


def normalize_fault(raw: Any) -> Dict[str, Any]:
    if not isinstance(raw, dict):
        raise ApiError(400, "InvalidParameter", "a fault is a JSON object")
    server = raw.get("server", "instance")
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
# Authentication (with the SDK's own string to sign)
# --------------------------------------------------------------------------------------------

def check_date(value: Optional[str]) -> None:
    if not value:
        raise ApiError(400, "InvalidParam", "The Param Date is invalid.")
    try:
        dt = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        raise ApiError(400, "InvalidParam", "The Param Date is invalid.")
    if dt is None or dt.tzinfo is None or abs(time.time() - dt.timestamp()) > MAX_SKEW_SECONDS:
        raise ApiError(400, "InvalidParam", "The Param Date is invalid.")


def authenticate(method: str, pathname: str, headers: Dict[str, str], body: bytes,
                 entry: Dict[str, Any]) -> ClientKey:
    """Raises ApiError unless the request is signed by a known, valid ClientKey."""
    if headers.get("x-kms-apiversion") != API_VERSION:
        raise bad_param("ApiVersion")
    if headers.get("x-kms-signaturemethod") != SIGNATURE_METHOD:
        raise bad_param("SignatureMethod")
    sha = headers.get("content-sha256")
    if sha is None or sha != hashlib.sha256(body).hexdigest().upper():
        raise bad_param("Content-Sha256")
    check_date(headers.get("date"))
    auth = headers.get("authorization", "")
    if not auth.startswith("Bearer "):
        raise ApiError(400, "InvalidParam", "The Param Authorization is invalid.")
    try:
        signature = base64.b64decode(auth[len("Bearer "):].strip(), validate=True)
    except (ValueError, TypeError):
        raise ApiError(400, "InvalidParam", "The Param Authorization is invalid.")
    ck_id = headers.get("x-kms-acccesskeyid")
    with STATE.lock:
        ck = STATE.client_keys.get(ck_id or "")
    if ck is None:
        raise ApiError(401, "Unauthorized", "The ClientKey is not found.")
    # The official string to sign, from the headers as received (lower-case names).
    string_to_sign = DkmsUtil.get_string_to_sign(method, pathname, headers, None)
    try:
        ck.public_key.verify(signature, string_to_sign.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        entry["signature_ok"] = False
        raise ApiError(400, "InvalidParam", "The Param Authorization is invalid.")
    entry["signature_ok"] = True
    now = time.time()
    if now > ck.not_after or now < ck.not_before:
        raise ApiError(401, "Forbidden.ClientKeyExpired", "The ClientKey is expired or not yet valid.")
    return ck


# --------------------------------------------------------------------------------------------
# The APIs
# --------------------------------------------------------------------------------------------

def check_enabled(key: Key) -> None:
    if key.state == "Disabled":
        raise ApiError(400, "Forbidden.KeyNotEnabled", "The specified Key is not enabled.")
    if key.state == "PendingDeletion":
        raise ApiError(400, "Forbidden.KeyNotEnabled", "The specified Key is pending deletion.")


def _parse(msg_type: Any, body: bytes) -> Any:
    msg = msg_type()
    try:
        msg.ParseFromString(body)
    except Exception:
        raise bad_param("Body")
    return msg


def _key_for(key_id: str) -> Key:
    if not key_id:
        raise bad_param("KeyId")
    key = STATE.resolve_key(key_id)
    check_enabled(key)
    return key


def _check_algorithm(algorithm: str) -> None:
    if algorithm and algorithm != ALGORITHM:
        raise bad_param("Algorithm")


def _seal(key: Key, plaintext: bytes, aad: bytes, iv: bytes = b"") -> Tuple[str, bytes, bytes]:
    vid, material = key.current
    if iv and len(iv) != 12:
        raise bad_param("Iv")
    iv = iv or os.urandom(12)
    return vid, iv, AESGCM(material).encrypt(iv, plaintext, aad)


def decrypt_failed() -> ApiError:
    # Our choice (no public source): InvalidParameter, not the instance's InvalidParam, which the
    # 1.1.3 transfer client turns into a bare TypeError for any message but Date/Authorization.
    return ApiError(400, "InvalidParameter", "The specified parameter CiphertextBlob or Aad is not valid.")


def _open(material: bytes, iv: bytes, ct: bytes, aad: bytes) -> bytes:
    try:
        return AESGCM(material).decrypt(iv, ct, aad)
    except InvalidTag:
        raise decrypt_failed()


def _plaintext(raw: bytes) -> bytes:
    if not raw:
        raise bad_param("Plaintext")
    if len(raw) > ENCRYPT_PLAINTEXT_LIMIT:
        raise bad_param("Plaintext")
    return raw


def _number_of_bytes(n: int) -> int:
    n = n or 32
    if not 1 <= n <= 1024:
        raise bad_param("NumberOfBytes")
    return n


def api_encrypt(body: bytes, headers: Dict[str, str], rid: str, entry: Dict[str, Any]) -> Tuple[Any, Dict[str, str]]:
    req = _parse(api_pb2.EncryptRequest, body)
    entry["key_id"] = req.KeyId
    key = _key_for(req.KeyId)
    _check_algorithm(req.Algorithm)
    vid, iv, ct = _seal(key, _plaintext(req.Plaintext), req.Aad, req.Iv)
    entry["key_version_id"] = vid
    return (api_pb2.EncryptResponse(KeyId=key.key_id, CiphertextBlob=ct, Iv=iv, RequestId=rid,
                                    Algorithm=ALGORITHM, PaddingMode=""), {MIGRATION_HEADER: vid})


def api_decrypt(body: bytes, headers: Dict[str, str], rid: str, entry: Dict[str, Any]) -> Tuple[Any, Dict[str, str]]:
    req = _parse(api_pb2.DecryptRequest, body)
    entry["key_id"] = req.KeyId or None
    _check_algorithm(req.Algorithm)
    if len(req.Iv) != 12:
        raise bad_param("Iv")
    if len(req.CiphertextBlob) < 16:
        raise bad_param("CiphertextBlob")
    vid_header = headers.get(MIGRATION_HEADER)
    if vid_header:
        key, material = STATE.key_by_version(vid_header)
        if req.KeyId and STATE.resolve_key(req.KeyId) is not key:
            raise key_not_found()
        check_enabled(key)
        plaintext = _open(material, req.Iv, req.CiphertextBlob, req.Aad)
        vid = vid_header
    else:
        key = _key_for(req.KeyId)
        with STATE.lock:
            versions = list(reversed(key.versions))
        for vid, material in versions:
            try:
                plaintext = AESGCM(material).decrypt(req.Iv, req.CiphertextBlob, req.Aad)
                break
            except InvalidTag:
                continue
        else:
            raise decrypt_failed()
    entry["key_version_id"] = vid
    return (api_pb2.DecryptResponse(KeyId=key.key_id, Plaintext=plaintext, RequestId=rid,
                                    Algorithm=ALGORITHM, PaddingMode=""), {MIGRATION_HEADER: vid})


def api_generate_data_key(body: bytes, headers: Dict[str, str], rid: str,
                          entry: Dict[str, Any]) -> Tuple[Any, Dict[str, str]]:
    req = _parse(api_pb2.GenerateDataKeyRequest, body)
    entry["key_id"] = req.KeyId
    key = _key_for(req.KeyId)
    _check_algorithm(req.Algorithm)
    data_key = os.urandom(_number_of_bytes(req.NumberOfBytes))
    vid, iv, ct = _seal(key, data_key, req.Aad)
    entry["key_version_id"] = vid
    return (api_pb2.GenerateDataKeyResponse(KeyId=key.key_id, Iv=iv, Plaintext=data_key, CiphertextBlob=ct,
                                            RequestId=rid, Algorithm=ALGORITHM), {MIGRATION_HEADER: vid})


def _advance_blob(vid: str, iv: bytes, ct: bytes) -> bytes:
    return ADVANCE_HEADER + vid.encode("ascii") + iv + ct


def api_advance_encrypt(body: bytes, headers: Dict[str, str], rid: str,
                        entry: Dict[str, Any]) -> Tuple[Any, Dict[str, str]]:
    req = _parse(api_pb2.AdvanceEncryptRequest, body)
    entry["key_id"] = req.KeyId
    key = _key_for(req.KeyId)
    _check_algorithm(req.Algorithm)
    vid, iv, ct = _seal(key, _plaintext(req.Plaintext), req.Aad, req.Iv)
    entry["key_version_id"] = vid
    return (api_pb2.AdvanceEncryptResponse(KeyId=key.key_id, CiphertextBlob=_advance_blob(vid, iv, ct), Iv=iv,
                                           RequestId=rid, Algorithm=ALGORITHM, PaddingMode="",
                                           KeyVersionId=vid), {})


def api_advance_decrypt(body: bytes, headers: Dict[str, str], rid: str,
                        entry: Dict[str, Any]) -> Tuple[Any, Dict[str, str]]:
    req = _parse(api_pb2.AdvanceDecryptRequest, body)
    entry["key_id"] = req.KeyId or None
    blob = req.CiphertextBlob
    if len(blob) < 3 + 36 + 12 + 16 or blob[:3] != ADVANCE_HEADER:
        raise bad_param("CiphertextBlob")
    try:
        vid = blob[3:39].decode("ascii")
    except UnicodeDecodeError:
        raise bad_param("CiphertextBlob")
    iv, ct = blob[39:51], blob[51:]
    if req.Iv and req.Iv != iv:
        raise bad_param("Iv")
    key, material = STATE.key_by_version(vid)
    if req.KeyId and STATE.resolve_key(req.KeyId) is not key:
        raise key_not_found()
    check_enabled(key)
    plaintext = _open(material, iv, ct, req.Aad)
    entry["key_version_id"] = vid
    return (api_pb2.AdvanceDecryptResponse(KeyId=key.key_id, Plaintext=plaintext, RequestId=rid,
                                           Algorithm=ALGORITHM, PaddingMode="", KeyVersionId=vid), {})


def api_advance_generate_data_key(body: bytes, headers: Dict[str, str], rid: str,
                                  entry: Dict[str, Any]) -> Tuple[Any, Dict[str, str]]:
    req = _parse(api_pb2.AdvanceGenerateDataKeyRequest, body)
    entry["key_id"] = req.KeyId
    key = _key_for(req.KeyId)
    data_key = os.urandom(_number_of_bytes(req.NumberOfBytes))
    vid, iv, ct = _seal(key, data_key, req.Aad)
    entry["key_version_id"] = vid
    return (api_pb2.AdvanceGenerateDataKeyResponse(KeyId=key.key_id, Iv=iv, Plaintext=data_key,
                                                   CiphertextBlob=_advance_blob(vid, iv, ct), RequestId=rid,
                                                   Algorithm=ALGORITHM, KeyVersionId=vid), {})


def api_generate_random(body: bytes, headers: Dict[str, str], rid: str,
                        entry: Dict[str, Any]) -> Tuple[Any, Dict[str, str]]:
    req = _parse(api_pb2.GenerateRandomRequest, body)
    n = req.Length or 32
    if not 1 <= n <= 1024:
        raise bad_param("Length")
    return api_pb2.GenerateRandomResponse(Random=os.urandom(n), RequestId=rid), {}


APIS: Dict[str, Callable[[bytes, Dict[str, str], str, Dict[str, Any]], Tuple[Any, Dict[str, str]]]] = {
    "Encrypt": api_encrypt,
    "Decrypt": api_decrypt,
    "GenerateDataKey": api_generate_data_key,
    "AdvanceEncrypt": api_advance_encrypt,
    "AdvanceDecrypt": api_advance_decrypt,
    "AdvanceGenerateDataKey": api_advance_generate_data_key,
    "GenerateRandom": api_generate_random,
}


# --------------------------------------------------------------------------------------------
# HTTP plumbing (as in aliyun_test_server.py)
# --------------------------------------------------------------------------------------------

class LoopbackServer(ThreadingHTTPServer):
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
    pass


class BaseHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and the
    # client's delayed ACK add ~40 ms to every keep-alive answer.
    disable_nagle_algorithm = True
    default_request_version = "HTTP/1.0"
    server_version = "InstanceTestServer/1.0"
    sys_version = ""
    timeout = 120
    server: LoopbackServer

    def _read_body(self) -> bytes:
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(1024).strip()
                size = int(line.split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline(1024).strip():
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    self.close_connection = True
                    raise bad_param("Body")
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
            raise bad_param("Content-Length")
        if n < 0 or n > MAX_BODY:
            self.close_connection = True
            raise bad_param("Content-Length")
        return self.rfile.read(n)

    def _send(self, status: int, body: bytes, content_type: str,
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

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
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

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        request_id = str(uuid.uuid4())
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
                self.send_api_error(ApiError(500, "InternalFailure", "Internal Failure"), request_id)
            except OSError:
                pass

    def handle_request(self, request_id: str) -> None:
        raise NotImplementedError

    def send_api_error(self, err: ApiError, request_id: str) -> None:
        raise NotImplementedError


class InstanceHandler(BaseHandler):
    CONTENT_TYPE = "application/x-protobuf"

    def send_api_error(self, err: ApiError, request_id: str) -> None:
        body = api_pb2.Error(StatusCode=err.status, ErrorCode=err.code, ErrorMessage=err.message,
                             RequestId=request_id).SerializeToString()
        self._send(err.status, body, self.CONTENT_TYPE)

    def send_error(self, code: int, message: Optional[str] = None, explain: Optional[str] = None) -> None:
        """BaseHTTPRequestHandler's own parse errors, as a protobuf Error too."""
        self.close_connection = True
        try:
            self.send_api_error(ApiError(code, "InvalidParam", message or explain or "Bad request"),
                                str(uuid.uuid4()))
        except OSError:
            pass

    def handle_request(self, request_id: str) -> None:
        path = urlsplit(self.path).path or "/"
        headers = {k.lower(): v for k, v in self.headers.items()}
        api = headers.get("x-kms-apiname")
        entry: Dict[str, Any] = {
            "server": self.server.name, "time": iso(time.time()), "request_id": request_id,
            "http_method": self.command, "path": path, "api_name": api,
            "client_key_id": headers.get("x-kms-acccesskeyid"), "key_id": None, "key_version_id": None,
            "status": None, "code": None, "fault": None, "signature_ok": None,
            "migration_header": MIGRATION_HEADER in headers,
            "migration_key_version_id": headers.get(MIGRATION_HEADER),
            "content_type": headers.get("content-type"), "api_version": headers.get("x-kms-apiversion"),
            "signature_method": headers.get("x-kms-signaturemethod"),
            "user_agent": headers.get("user-agent")}
        try:
            body = self._read_body()
            fault = STATE.take_fault(self.server.name, api)
            if fault is not None:
                entry["fault"] = fault["kind"]
                if self.apply_fault(fault, entry, request_id):
                    return
            if self.command != "POST":
                raise ApiError(405, "InvalidParam", "The Param Method is invalid.")
            authenticate(self.command, path, headers, body, entry)
            fn = APIS.get(api or "")
            if fn is None:
                raise bad_param("ApiName")
            msg, extra = fn(body, headers, request_id, entry)
            entry["status"] = 200
            STATE.record(entry)
            self._send(200, msg.SerializeToString(), self.CONTENT_TYPE, extra)
        except ApiError as err:
            entry["status"], entry["code"] = err.status, err.code
            STATE.record(entry)
            raise

    def apply_fault(self, fault: Dict[str, Any], entry: Dict[str, Any], request_id: str) -> bool:
        kind = fault["kind"]
        if kind == "slow":
            time.sleep(fault["seconds"])
            return False
        errors = {"throttle": (429, "Rejected.Throttling", "QPS Limit Exceeded"),
                  "unavailable": (503, "ServiceUnavailableTemporary", "Service Unavailable Temporary."),
                  "internal": (500, "InternalFailure", "Internal Failure")}
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
            # Not protobuf: 0xff.. is no valid tag; the official parser raises DecodeError.
            self._send(200, b"\xff\xff\xff\xff<html>not protobuf</html>\n", self.CONTENT_TYPE)
            return True
        if kind == "truncated":
            body = api_pb2.EncryptResponse(KeyId="truncated", CiphertextBlob=b"\0" * 64, Iv=b"\0" * 12,
                                           RequestId=request_id).SerializeToString()
            self.close_connection = True
            self.send_response(200)
            self.send_header("Content-Type", self.CONTENT_TYPE)
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
            # A well-formed protobuf of about `bytes` bytes: one unknown field (15, bytes) of
            # padding, which every response message skips (so the official SDK takes it, empty).
            pad = max(fault["bytes"], 16)
            head = b"\x7a" + _varint(pad)  # field 15, wire type 2
            self.send_response(200)
            self.send_header("Content-Type", self.CONTENT_TYPE)
            self.send_header("Content-Length", str(len(head) + pad))
            self.end_headers()
            try:
                self.wfile.write(head)
                chunk = b"A" * 65536
                while pad > 0:
                    self.wfile.write(chunk[: min(pad, len(chunk))])
                    pad -= min(pad, len(chunk))
            except OSError:
                self.close_connection = True
            return True
        raise ApiError(500, "InternalFailure", "unknown fault %r" % kind)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


# --------------------------------------------------------------------------------------------
# Control API (plain HTTP JSON, tests only)
# --------------------------------------------------------------------------------------------

class ControlHandler(BaseHandler):
    """GET /health; GET /requests; GET /faults; POST /faults (a fault object or a list, or
    {"faults": [...]}: {"server": "instance", "kind", "count": 1, "action": API name (optional),
    "seconds", "bytes"}); POST /reset (faults and request log); GET /keys; POST /keys
    ({"key_id", "aliases"?, "state"?, "rotate"?, "delete"?}); GET /client_keys; POST /client_keys
    ({"key_id", "delete": true} forgets a ClientKey)."""

    def send_json(self, status: int, obj: Any) -> None:
        self._send(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"), "application/json;charset=utf-8")

    def send_api_error(self, err: ApiError, request_id: str) -> None:
        self.send_json(err.status, {"RequestId": request_id, "Code": err.code, "Message": err.message})

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
            ("GET", "/keys"): lambda d: {"keys": [k.to_json() for k in STATE.keys.values()]},
            ("POST", "/keys"): lambda d: STATE.put_key(self._obj(d)),
            ("GET", "/client_keys"): lambda d: {"client_keys": [c.to_json() for c in STATE.client_keys.values()]},
            ("POST", "/client_keys"): self.post_client_keys,
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
        return {"ok": True}

    def post_client_keys(self, d: Any) -> Any:
        d = self._obj(d)
        if d.get("delete"):
            STATE.client_keys.pop(str(d.get("key_id")), None)
        return {"client_keys": [c.to_json() for c in STATE.client_keys.values()]}


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------

def main(argv: Optional[List[str]] = None) -> int:
    global VERBOSE
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--dir", required=True, help="folder for the generated certificates and ClientKeys")
    ap.add_argument("--verbose", action="store_true", help="log every request to stderr")
    ap.add_argument("--no-stdin", action="store_true",
                    help="do not exit on stdin EOF (manual runs; stop with SIGTERM/Ctrl-C)")
    args = ap.parse_args(argv)
    VERBOSE = args.verbose or os.environ.get("ALIYUN_TEST_SERVER_VERBOSE") == "1"

    directory = os.path.abspath(args.dir)
    ready_files, known, tls_paths = generate_files(directory)
    for ck in known:
        STATE.client_keys[ck.key_id] = ck
    servers = {
        "instance": LoopbackServer("instance", InstanceHandler,
                                   server_tls_context(tls_paths["cert"], tls_paths["key"])),
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

    ready: Dict[str, Any] = {"instance": servers["instance"].address,
                             "control": "http://" + servers["control"].address}
    ready.update(ready_files)
    sys.stdout.write(json.dumps(ready) + "\n")
    sys.stdout.flush()
    log("ready: %s" % json.dumps(ready))

    while not stop.wait(0.5):
        pass
    log("stopping")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
