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
What this server shares with aliyun_test_server.py (certificates, key store, faults, HTTP plumbing,
control API, main loop) is in loopback.py, beside this file.
"""

from __future__ import annotations

import base64
import datetime
import email.utils
import hashlib
import json
import os
import secrets
import sys
import time
import uuid
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID

# The official string to sign (see module docstring) and the official protobuf messages.
from openapi_util.client import Client as DkmsUtil
from openapi_util.protobuf import api_pb2

# loopback.py (shared with aliyun_test_server.py) sits beside this file: on sys.path already when
# this file runs as a script, added here for a test that imports this file by path.
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
import loopback  # noqa: E402
from loopback import (ApiError, Key, LoopbackServer, check_enabled, iso, key_not_found,  # noqa: E402
                      write_file)

loopback.LOG_NAME = "instance-test-server"

API_VERSION = "dkms-gcs-0.2"
SIGNATURE_METHOD = "RSA_PKCS1_SHA_256"
MIGRATION_HEADER = "x-kms-migrationkeyversionid"
MAX_SKEW_SECONDS = 15 * 60
ENCRYPT_PLAINTEXT_LIMIT = 6144
ADVANCE_HEADER = b"$\x00\x02"  # magic '$', cipher version 0 << 4 | padding 0, algorithm 2 = AES-GCM
ALGORITHM = "AES_GCM"


# --------------------------------------------------------------------------------------------
# ClientKeys (the certificates are loopback.generate_certificates')
# --------------------------------------------------------------------------------------------

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
            .subject_name(loopback.x509_name(key_id)).issuer_name(ca_cert.subject)
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
    write_file(paths["json"], json.dumps({"KeyId": key_id,
                                           "PrivateKeyData": base64.b64encode(p12).decode("ascii")}).encode(),
               private=True)
    write_file(paths["password"], password.encode("utf-8"), private=True)
    return ClientKey(key_id, cert, name), paths, key


def generate_files(directory: str) -> Tuple[Dict[str, Any], List[ClientKey], Dict[str, str]]:
    """Everything --dir gets. Returns (ready-line fields, ClientKeys the instance knows, TLS paths)."""
    paths, ca_key, ca_cert = loopback.generate_certificates(directory, selfsigned=False)
    tls = {"cert": paths["server.pem"], "key": paths["server-key.pem"]}
    ready: Dict[str, Any] = {"ca": paths["ca.pem"], "other_ca": paths["other-ca.pem"]}
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
            write_file(pem_path, loopback.key_pem(key), private=True)
            ready["client_key_good_pem"] = pem_path
    return ready, known, tls


# --------------------------------------------------------------------------------------------
# State: loopback.LoopbackState (keys, faults, request log) plus the ClientKeys
# --------------------------------------------------------------------------------------------

def bad_param(name: str) -> ApiError:
    return ApiError(400, "InvalidParam", "The Param %s is invalid." % name)


class State(loopback.LoopbackState):
    FAULT_SERVERS = frozenset({"instance"})
    DEFAULT_FAULT_SERVER = "instance"

    def __init__(self) -> None:
        super().__init__()  # the lock, keys (the two default ones), faults, request log
        self.client_keys: Dict[str, ClientKey] = {}


STATE = State()


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
# HTTP plumbing: loopback.BaseHandler, answering as the instance does
# --------------------------------------------------------------------------------------------

class BaseHandler(loopback.BaseHandler):
    """loopback.BaseHandler for both servers of this file: body errors as InvalidParam."""

    server_version = "InstanceTestServer/1.0"
    state = STATE

    def body_error(self, reason: str) -> ApiError:
        self.close_connection = True
        return bad_param("Body" if reason == "chunked_too_large" else "Content-Length")


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

    # ---- faults (loopback.BaseHandler.apply_fault, with protobuf bodies) ----
    # "garbage": not protobuf: 0xff.. is no valid tag; the official parser raises DecodeError.
    GARBAGE_BODY = b"\xff\xff\xff\xff<html>not protobuf</html>\n"

    def truncated_body(self, request_id: str) -> bytes:
        return api_pb2.EncryptResponse(KeyId="truncated", CiphertextBlob=b"\0" * 64, Iv=b"\0" * 12,
                                       RequestId=request_id).SerializeToString()

    def oversized_parts(self, request_id: str, size: int) -> Tuple[bytes, int, bytes]:
        # A well-formed protobuf of about `size` bytes: one unknown field (15, bytes) of
        # padding, which every response message skips (so the official SDK takes it, empty).
        return b"\x7a" + _varint(size), size, b""  # field 15, wire type 2


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

class ControlHandler(loopback.ControlApi, BaseHandler):
    """loopback.ControlApi's routes (faults: {"server": "instance", ..., "action": API name}),
    plus GET /client_keys and POST /client_keys ({"key_id", "delete": true} forgets a ClientKey)."""

    def send_api_error(self, err: ApiError, request_id: str) -> None:
        self.send_json(err.status, {"RequestId": request_id, "Code": err.code, "Message": err.message})

    def routes(self) -> Dict[Tuple[str, str], Callable[[Any], Any]]:
        route = super().routes()
        route.update({
            ("GET", "/client_keys"): lambda d: {"client_keys": [c.to_json() for c in STATE.client_keys.values()]},
            ("POST", "/client_keys"): self.post_client_keys,
        })
        return route

    def post_client_keys(self, d: Any) -> Any:
        d = self._obj(d)
        if d.get("delete"):
            STATE.client_keys.pop(str(d.get("key_id")), None)
        return {"client_keys": [c.to_json() for c in STATE.client_keys.values()]}


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------

def main(argv: Optional[List[str]] = None) -> int:
    args = loopback.parse_args(__doc__, "folder for the generated certificates and ClientKeys", argv)
    ready_files, known, tls_paths = generate_files(os.path.abspath(args.dir))
    for ck in known:
        STATE.client_keys[ck.key_id] = ck
    servers = {
        "instance": LoopbackServer("instance", InstanceHandler,
                                   loopback.server_tls_context(tls_paths["cert"], tls_paths["key"])),
        "control": LoopbackServer("control", ControlHandler, None),
    }
    ready: Dict[str, Any] = {"instance": servers["instance"].address,
                             "control": "http://" + servers["control"].address}
    ready.update(ready_files)
    loopback.serve(servers, ready, watch_stdin=not args.no_stdin)


if __name__ == "__main__":
    sys.exit(main())
