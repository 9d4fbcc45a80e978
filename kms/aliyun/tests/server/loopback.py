"""What the two loopback test servers and their two oracle CLIs share.

Who uses it:
  aliyun_test_server.py    the KMS OpenAPI + STS + ECS metadata stand-in (build/venv-aliyun)
  instance_test_server.py  the KMS 3.0 instance API stand-in (build/venv-dkms)
  oracle.py, instance_oracle.py   the official-SDK oracle CLIs (only the CLI part at the end)

Each server keeps what is its own: the wire format of its answers and errors (JSON or protobuf),
its request ids, its APIs and authentication, its extra state and control routes. This module has
the rest: test certificates and TLS, the key store (keys, versions, aliases), the fault list and
the request log, the threaded loopback HTTP server, the base request handler (body reading,
responses, abrupt closes, dispatch, the faults that hit the KMS-like servers), the control API's
common routes and the main loop (ready line on stdout, exit on stdin EOF or SIGTERM/SIGINT).

Imported as `import loopback`: a server or oracle run as a script has its own folder as
sys.path[0], and each of them also puts that folder on sys.path when imported by path.

Python 3.9+, standard library + cryptography only (both venvs have it; no protobuf, no SDK here).
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import json
import os
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
from typing import Any, Callable, Dict, List, NoReturn, Optional, Tuple
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
MAX_BODY = 1 << 20  # a KMS request is small; anything larger is refused

# Set by the server that imports this module: the log prefix ("aliyun-test-server",
# "instance-test-server"); VERBOSE by parse_args (--verbose or ALIYUN_TEST_SERVER_VERBOSE=1).
LOG_NAME = "loopback"
VERBOSE = False


def log(msg: str) -> None:
    """Everything a server says goes to stderr; stdout carries only the ready line."""
    try:
        sys.stderr.write("[%s] %s\n" % (LOG_NAME, msg))
        sys.stderr.flush()
    except Exception:
        pass


def iso(ts: float) -> str:
    return time.strftime(TIME_FORMAT, time.gmtime(ts))


class ApiError(Exception):
    """An error answered with an HTTP status, a code and a message; each server's handler turns
    it into its service's error body (JSON for the OpenAPI server, protobuf for the instance)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__("%s %s: %s" % (status, code, message))
        self.status = status
        self.code = code
        self.message = message


# --------------------------------------------------------------------------------------------
# Certificates (both servers: ca.pem, other-ca.pem, server.pem; the OpenAPI server also a
# self-signed one; the instance server issues its ClientKeys from the same test CA)
# --------------------------------------------------------------------------------------------

def x509_name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "libnacoscrypt tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def write_file(path: str, data: bytes, private: bool = False) -> None:
    with open(path, "wb") as f:
        f.write(data)
    if private:
        os.chmod(path, 0o600)


def key_pem(key: Any) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_ca(cn: str) -> Tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509_name(cn)).issuer_name(x509_name(cn))
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


def make_leaf(issuer_key: Optional[ec.EllipticCurvePrivateKey],
              issuer_cert: Optional[x509.Certificate]) -> Tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A server certificate for localhost and 127.0.0.1; self-signed when no issuer is given."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = x509_name("localhost")
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


def generate_certificates(directory: str, selfsigned: bool) -> Tuple[
        Dict[str, str], ec.EllipticCurvePrivateKey, x509.Certificate]:
    """ca.pem (test CA, key in ca-key.pem), server.pem/server-key.pem (signed by it), other-ca.pem
    (an unrelated CA, for wrong-CA tests) and, with `selfsigned` (the OpenAPI server),
    selfsigned.pem/selfsigned-key.pem. Returns their paths and the test CA's key and certificate
    (the instance server issues its ClientKeys with them)."""
    os.makedirs(directory, exist_ok=True)
    names = ["ca.pem", "ca-key.pem", "server.pem", "server-key.pem", "other-ca.pem"]
    if selfsigned:
        names += ["selfsigned.pem", "selfsigned-key.pem"]
    paths = {name: os.path.join(directory, name) for name in names}
    ca_key, ca_cert = make_ca("libnacoscrypt test CA")
    srv_key, srv_cert = make_leaf(ca_key, ca_cert)
    _other_key, other_cert = make_ca("libnacoscrypt unrelated CA")
    pem = serialization.Encoding.PEM
    if selfsigned:
        ss_key, ss_cert = make_leaf(None, None)
    write_file(paths["ca.pem"], ca_cert.public_bytes(pem))
    write_file(paths["ca-key.pem"], key_pem(ca_key), private=True)
    write_file(paths["server.pem"], srv_cert.public_bytes(pem))
    write_file(paths["server-key.pem"], key_pem(srv_key), private=True)
    write_file(paths["other-ca.pem"], other_cert.public_bytes(pem))
    if selfsigned:
        write_file(paths["selfsigned.pem"], ss_cert.public_bytes(pem))
        write_file(paths["selfsigned-key.pem"], key_pem(ss_key), private=True)
    return paths, ca_key, ca_cert


def server_tls_context(cert: str, key: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


# --------------------------------------------------------------------------------------------
# State: keys, faults, request log (one lock; requests are few and small). Each server
# subclasses LoopbackState for its own parts (accounts/STS/metadata, ClientKeys).
# --------------------------------------------------------------------------------------------

class Key:
    def __init__(self, key_id: str, state: str) -> None:
        self.key_id = key_id
        self.aliases: List[str] = []
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


def key_not_found() -> ApiError:
    return ApiError(404, "Forbidden.KeyNotFound", "The specified Key is not found.")


def check_enabled(key: Key) -> None:
    if key.state == "Disabled":
        raise ApiError(400, "Forbidden.KeyNotEnabled", "The specified Key is not enabled.")
    if key.state == "PendingDeletion":
        raise ApiError(400, "Forbidden.KeyNotEnabled", "The specified Key is pending deletion.")


class LoopbackState:
    # What POST /faults accepts; a subclass sets its server names and may add kinds.
    FAULT_KINDS = frozenset({"throttle", "unavailable", "internal", "slow", "reset", "garbage",
                             "truncated", "oversized", "hang"})
    FAULT_SERVERS: frozenset = frozenset()
    DEFAULT_FAULT_SERVER = ""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.keys: Dict[str, Key] = {}
        self.aliases: Dict[str, str] = {}
        self.faults: List[Dict[str, Any]] = []
        self.requests: List[Dict[str, Any]] = []
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
        """KeyId may be a key id, an alias (alias/...), or an ARN ending in key/ID or alias/NAME."""
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

    # ---- faults and log ----
    def normalize_fault(self, raw: Any) -> Dict[str, Any]:
        if not isinstance(raw, dict):
            raise ApiError(400, "InvalidParameter", "a fault is a JSON object")
        server = raw.get("server", self.DEFAULT_FAULT_SERVER)
        kind = raw.get("kind")
        if server not in self.FAULT_SERVERS:
            raise ApiError(400, "InvalidParameter", "server must be one of %s" % sorted(self.FAULT_SERVERS))
        if kind not in self.FAULT_KINDS:
            raise ApiError(400, "InvalidParameter", "kind must be one of %s" % sorted(self.FAULT_KINDS))
        fault: Dict[str, Any] = {"server": server, "kind": kind, "count": int(raw.get("count", 1))}
        if raw.get("action"):
            fault["action"] = str(raw["action"])
        fault["seconds"] = float(raw.get("seconds", 30.0 if kind == "hang" else 2.0))
        fault["bytes"] = int(raw.get("bytes", 8 << 20))
        return fault

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
    """The request handler both servers build on. A server's subclass sets `state`,
    `server_version` and CONTENT_TYPE and defines handle_request, send_api_error (its error body)
    and body_error; the KMS-like handlers also the fault hooks (see apply_fault)."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without TCP_NODELAY, Nagle's algorithm and
    # the client's delayed ACK add ~40 ms to every keep-alive answer.
    disable_nagle_algorithm = True
    # A garbage request line would otherwise be taken as HTTP/0.9 and answered with a bare body.
    default_request_version = "HTTP/1.0"
    sys_version = ""
    timeout = 120  # idle keep-alive connections go away eventually
    server: LoopbackServer
    state: LoopbackState
    CONTENT_TYPE = "application/json;charset=utf-8"  # the answers' type (the instance: protobuf)
    INTERNAL_FAILURE = "Internal Failure"  # the message of a 500 InternalFailure

    # ---- request reading ----
    def body_error(self, reason: str) -> ApiError:
        """The error for a body that cannot be read: reason "chunked_too_large", "bad_length" or
        "too_large" (Content-Length; the connection is closed already)."""
        raise NotImplementedError

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
                    raise self.body_error("chunked_too_large")
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
            raise self.body_error("bad_length")
        if n < 0 or n > MAX_BODY:
            self.close_connection = True
            raise self.body_error("too_large")
        return self.rfile.read(n)

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
        """JSON; with a request_id (the OpenAPI server's answers) also an x-acs-request-id header."""
        extra = {"x-acs-request-id": request_id} if request_id else None
        self._send(status, json.dumps(obj, ensure_ascii=False).encode("utf-8"), extra=extra)

    def send_api_error(self, err: ApiError, request_id: str) -> None:
        raise NotImplementedError

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

    def new_request_id(self) -> str:
        return str(uuid.uuid4())

    def _dispatch(self) -> None:
        request_id = self.new_request_id()
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
                self.send_api_error(ApiError(500, "InternalFailure", self.INTERNAL_FAILURE), request_id)
            except OSError:
                pass

    def handle_request(self, request_id: str) -> None:
        raise NotImplementedError

    # ---- faults of the KMS-like servers (the OpenAPI server's RpcHandler, InstanceHandler) ----
    GARBAGE_BODY = b""  # the "garbage" answer: a 200 that is not the service's format

    def fault_errors(self) -> Dict[str, Tuple[int, str, str]]:
        """Fault kinds answered as an error of the service: kind -> (status, code, message)."""
        return {"throttle": (429, "Rejected.Throttling", "QPS Limit Exceeded"),
                "unavailable": (503, "ServiceUnavailableTemporary", "Service Unavailable Temporary."),
                "internal": (500, "InternalFailure", self.INTERNAL_FAILURE)}

    def truncated_body(self, request_id: str) -> bytes:
        """A valid answer of which "truncated" sends half, then closes."""
        raise NotImplementedError

    def oversized_parts(self, request_id: str, size: int) -> Tuple[bytes, int, bytes]:
        """(head, padding length, tail) of a well-formed answer of about `size` bytes."""
        raise NotImplementedError

    def apply_fault(self, fault: Dict[str, Any], entry: Dict[str, Any], request_id: str) -> bool:
        """Apply a fault; True when the request is fully answered (or dropped)."""
        kind = fault["kind"]
        if kind == "slow":
            time.sleep(fault["seconds"])
            return False
        errors = self.fault_errors()
        if kind in errors:
            raise ApiError(*errors[kind])
        entry["status"] = 200 if kind in ("garbage", "truncated", "oversized") else None
        self.state.record(entry)
        if kind == "reset":
            self.abort()
        if kind == "hang":
            time.sleep(fault["seconds"])
            self.abort()
        if kind == "garbage":
            self._send(200, self.GARBAGE_BODY, self.CONTENT_TYPE)
            return True
        if kind == "truncated":
            body = self.truncated_body(request_id)
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
            head, pad, tail = self.oversized_parts(request_id, max(fault["bytes"], 16))
            self.send_response(200)
            self.send_header("Content-Type", self.CONTENT_TYPE)
            self.send_header("Content-Length", str(len(head) + pad + len(tail)))
            self.end_headers()
            try:
                self.wfile.write(head)
                chunk = b"A" * 65536
                while pad > 0:
                    self.wfile.write(chunk[: min(pad, len(chunk))])
                    pad -= min(pad, len(chunk))
                if tail:
                    self.wfile.write(tail)
            except OSError:
                self.close_connection = True
            return True
        raise ApiError(500, "InternalFailure", "unknown fault %r" % kind)


# --------------------------------------------------------------------------------------------
# Control API (plain HTTP JSON, tests only): the routes both servers have
# --------------------------------------------------------------------------------------------

class ControlApi(BaseHandler):
    """GET /health; GET /requests; GET /faults; POST /faults (a fault object or a list, or
    {"faults": [...]}: {"server", "kind", "count": 1, "action" (optional), "seconds", "bytes"});
    POST /reset (faults and request log); GET /keys; POST /keys ({"key_id", "aliases"?,
    "state"?, "rotate"?, "delete"?}). A server's ControlHandler (ControlApi first, then its own
    BaseHandler, for its error format) adds its routes in routes()."""

    def routes(self) -> Dict[Tuple[str, str], Callable[[Any], Any]]:
        st = self.state
        return {
            ("GET", "/health"): lambda d: {"ok": True},
            ("GET", "/requests"): lambda d: {"requests": list(st.requests)},
            ("GET", "/faults"): lambda d: {"faults": list(st.faults)},
            ("POST", "/faults"): self.post_faults,
            ("POST", "/reset"): self.post_reset,
            ("GET", "/keys"): lambda d: {"keys": [k.to_json() for k in st.keys.values()]},
            ("POST", "/keys"): lambda d: st.put_key(self._obj(d)),
        }

    def handle_request(self, request_id: str) -> None:
        path = urlsplit(self.path).path.rstrip("/") or "/"
        body = self._read_body()
        data: Any = None
        if body:
            try:
                data = json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                raise ApiError(400, "InvalidParameter", "the body is not JSON")
        fn = self.routes().get((self.command, path))
        if fn is None:
            raise ApiError(404, "NotFound", "no control route %s %s" % (self.command, path))
        with self.state.lock:
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
        faults = [self.state.normalize_fault(f) for f in items]
        self.state.faults.extend(faults)
        return {"ok": True, "faults": list(self.state.faults)}

    def post_reset(self, d: Any) -> Any:
        self.state.faults.clear()
        self.state.requests.clear()
        return {"ok": True}


# --------------------------------------------------------------------------------------------
# main: arguments, then serve until stdin EOF or SIGTERM/SIGINT
# --------------------------------------------------------------------------------------------

def parse_args(doc: Optional[str], dir_help: str, argv: Optional[List[str]]) -> argparse.Namespace:
    """--dir, --verbose, --no-stdin; sets VERBOSE."""
    global VERBOSE
    ap = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    ap.add_argument("--dir", required=True, help=dir_help)
    ap.add_argument("--verbose", action="store_true", help="log every request to stderr")
    ap.add_argument("--no-stdin", action="store_true",
                    help="do not exit on stdin EOF (manual runs; stop with SIGTERM/Ctrl-C)")
    args = ap.parse_args(argv)
    VERBOSE = args.verbose or os.environ.get("ALIYUN_TEST_SERVER_VERBOSE") == "1"
    return args


def serve(servers: Dict[str, LoopbackServer], ready: Dict[str, Any], watch_stdin: bool) -> NoReturn:
    """Start every server, print the ready line (ONE JSON line, the only thing on stdout), and
    serve until stdin reaches EOF (unless not watch_stdin) or SIGTERM/SIGINT; then exit."""
    for srv in servers.values():
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2},
                         name="serve-" + srv.name, daemon=True).start()

    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    if watch_stdin:
        def stdin_eof() -> None:
            try:
                while os.read(sys.stdin.fileno(), 4096):
                    pass
            except Exception:
                pass
            stop.set()
        threading.Thread(target=stdin_eof, name="stdin-eof", daemon=True).start()

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


# --------------------------------------------------------------------------------------------
# The oracle CLIs (oracle.py, instance_oracle.py): one JSON object in on stdin, one out on stdout
# --------------------------------------------------------------------------------------------

def oracle_fail(message: str) -> NoReturn:
    """A bad command or input: exit 2 with {"error": ...}."""
    sys.stdout.write(json.dumps({"error": {"code": "OracleUsage", "message": message, "status": None}}) + "\n")
    sys.exit(2)


def oracle_need(inp: Dict[str, Any], name: str) -> Any:
    if name not in inp:
        oracle_fail("missing %r" % name)
    return inp[name]


def oracle_run(commands: Dict[str, Callable[[Dict[str, Any]], Dict[str, Any]]], command: str,
               inp: Dict[str, Any]) -> Dict[str, Any]:
    fn = commands.get(command)
    if fn is None:
        oracle_fail("unknown command %r; one of %s" % (command, ", ".join(sorted(commands))))
    return fn(inp)


def oracle_main(commands: Dict[str, Callable[[Dict[str, Any]], Dict[str, Any]]], prog: str,
                argv: Optional[list]) -> int:
    """`prog COMMAND < input.json > output.json`."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        oracle_fail("usage: %s COMMAND < input.json" % prog)
    try:
        inp = json.loads(sys.stdin.read() or "{}")
    except ValueError as e:
        oracle_fail("stdin is not JSON: %s" % e)
    if not isinstance(inp, dict):
        oracle_fail("stdin must be a JSON object")
    out = oracle_run(commands, argv[0], inp)
    sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    return 0
