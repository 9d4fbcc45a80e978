"""The AWS KMS test servers: moto in server mode behind a TLS front that checks every SigV4
signature with botocore and injects faults, and loopback stand-ins of the instance metadata
service (IMDSv2) and the container credentials endpoint.

    aws_test_server.py --dir DIR

prints ONE JSON line on stdout when ready:
    {"kms": "127.0.0.1:P", "ca": ".../ca.pem", "other_ca": ..., "control": "http://127.0.0.1:C",
     "imds": "http://127.0.0.1:I", "container": "http://127.0.0.1:K/creds", "moto": "http://...",
     "keys": {"alias/nacos": ARN, "alias/other": ARN}, "access_key_id": ..., "secret": ...}
and serves until stdin reaches EOF (or SIGTERM). Everything runs on 127.0.0.1.

The front (https, the test CA): every request must be signed by a known access key (the test
key, or one the front saw STS, IMDS or the container endpoint hand out, with its session token),
checked by recomputing the signature with botocore's SigV4Auth over the headers the request
signed: a wrong one is 403 InvalidSignatureException, an unknown key 400
UnrecognizedClientException. Unsigned requests pass only for STS AssumeRoleWithWebIdentity.
Requests then go to moto unchanged; STS answers are read for the credentials they issue.

Faults (POST /faults on the control port, loopback.py's format; server "kms", "sts", "imds" or
"container"): throttle, unavailable (503), internal (500), slow, reset, garbage, truncated,
oversized, hang, expired (400 ExpiredTokenException). Each server answers them as the real one
does: KMS with JSON 1.1 errors (400 ThrottlingException, 500 KMSInternalException), STS with its
XML ErrorResponse (400 Throttling, 503 ServiceUnavailable, 500 InternalFailure), IMDS and the
container endpoint with bare statuses (429, 503, 500). A fault's "action" picks the KMS or STS
action, or the path of a metadata request (/latest/api/token, ...).

The container endpoint serves the full-URI form at /creds (Authorization must be the container
token) and the relative-URI form of ECS at /v2/credentials/<id> (no token, as on ECS).
Temporary credentials (STS, IMDS, container) expire after the configured lifetime: STS answers
are rewritten to it. Control routes: /health, /requests, /faults, /reset, and
POST /metadata {"lifetime": seconds, "token": "..."}.
"""

from __future__ import annotations

import base64
import datetime
import http.client
import json
import os
import re
import secrets
import sys
import threading
from typing import Any, Dict, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "aliyun", "tests", "server"))

import loopback  # noqa: E402
from loopback import ApiError, BaseHandler, ControlApi, LoopbackServer, LoopbackState  # noqa: E402

from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402
import botocore.auth  # noqa: E402

loopback.LOG_NAME = "aws-test-server"

ACCESS_KEY_ID = "AKIANACOSCRYPTTEST01"
SECRET = "nacoscrypt/test/secret+access+key/0123456"
REGION = "us-east-1"
_SIGN_LOCK = threading.Lock()  # botocore's clock is patched while a signature is recomputed


def botocore_authorization(method: str, url: str, headers: Dict[str, str], body: bytes,
                           akid: str, secret: str, token: Optional[str], region: str,
                           service: str, amz_date: str) -> str:
    """botocore's SigV4Auth over exactly these headers, at amz_date."""
    req = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    creds = Credentials(akid, secret, token)
    when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ")
    with _SIGN_LOCK:
        saved = botocore.auth.get_current_datetime
        botocore.auth.get_current_datetime = lambda *a, **k: when
        try:
            SigV4Auth(creds, service, region).add_auth(req)
        finally:
            botocore.auth.get_current_datetime = saved
    return req.headers["Authorization"]


class FrontState(LoopbackState):
    FAULT_KINDS = LoopbackState.FAULT_KINDS | {"expired"}
    FAULT_SERVERS = frozenset({"kms", "sts", "imds", "container"})
    DEFAULT_FAULT_SERVER = "kms"

    def __init__(self) -> None:
        super().__init__()
        # access key id -> (secret, session token or None)
        self.keys_known: Dict[str, Tuple[str, Optional[str]]] = {ACCESS_KEY_ID: (SECRET, None)}
        self.lifetime = 3600.0
        self.container_token = "container-token-0123"
        self.issued = 0

    def issue(self, prefix: str) -> Dict[str, Any]:
        """Fresh temporary credentials, known to the front."""
        with self.lock:
            self.issued += 1
            akid = "ASIA%s%08d" % (prefix, self.issued)
            secret = secrets.token_urlsafe(30)
            token = secrets.token_urlsafe(60)
            self.keys_known[akid] = (secret, token)
            expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=self.lifetime)
            return {"AccessKeyId": akid, "SecretAccessKey": secret, "Token": token,
                    "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%SZ")}


STATE = FrontState()
MOTO: Tuple[str, int] = ("127.0.0.1", 0)


class AwsErrors:
    """AWS JSON 1.1 errors for the KMS-like handlers."""

    INTERNAL_FAILURE = "Internal Failure"
    GARBAGE_BODY = b"<html><body>502 Bad Gateway</body></html>"

    def fault_errors(self) -> Dict[str, Tuple[int, str, str]]:
        return {"throttle": (400, "ThrottlingException", "Rate exceeded"),
                "unavailable": (503, "ServiceUnavailableException", "Service Unavailable"),
                "internal": (500, "KMSInternalException", "internal error"),
                "expired": (400, "ExpiredTokenException", "The security token included in the request is expired")}

    def send_api_error(self, err: ApiError, request_id: str) -> None:
        if getattr(self, "answering", "kms") == "sts":
            # STS speaks the query protocol: XML errors.
            body = ('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
                    "<Type>%s</Type><Code>%s</Code><Message>%s</Message></Error>"
                    "<RequestId>%s</RequestId></ErrorResponse>"
                    % ("Receiver" if err.status >= 500 else "Sender", err.code, err.message,
                       request_id)).encode()
            self._send(err.status, body, "text/xml", {"x-amzn-RequestId": request_id})
            return
        body = json.dumps({"__type": err.code, "message": err.message}).encode()
        self._send(err.status, body, "application/x-amz-json-1.1", {"x-amzn-RequestId": request_id})

    def body_error(self, reason: str) -> ApiError:
        return ApiError(413, "ValidationException", "request body: %s" % reason)

    def truncated_body(self, request_id: str) -> bytes:
        return json.dumps({"KeyId": "x", "Plaintext": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}).encode()

    def oversized_parts(self, request_id: str, size: int) -> Tuple[bytes, int, bytes]:
        head = b'{"KeyId":"x","Pad":"'
        tail = b'","Plaintext":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}'
        return head, max(size - len(head) - len(tail), 0), tail


class FrontHandler(AwsErrors, BaseHandler):
    server_version = "aws-test-front"
    state = STATE
    CONTENT_TYPE = "application/x-amz-json-1.1"

    def handle_request(self, request_id: str) -> None:
        body = self._read_body()
        target = self.headers.get("X-Amz-Target") or ""
        auth = self.headers.get("Authorization") or ""
        form = parse_qs(body.decode("utf-8", "replace")) if not target else {}
        action = target.split(".", 1)[1] if "." in target else (form.get("Action") or [""])[0]
        server = "kms" if target.startswith("TrentService.") else "sts"
        self.answering = server
        entry: Dict[str, Any] = {"server": server, "action": action, "method": self.command,
                                 "path": self.path, "signed": bool(auth),
                                 "user_agent": self.headers.get("User-Agent"),
                                 "content_type": self.headers.get("Content-Type"),
                                 "security_token": self.headers.get("X-Amz-Security-Token"),
                                 "access_key_id": None, "status": None}
        if server == "kms":
            try:
                req = json.loads(body or b"{}")
                entry["encryption_context"] = req.get("EncryptionContext")
                entry["key_id"] = req.get("KeyId")
            except ValueError:
                pass
        else:
            entry["role_arn"] = (form.get("RoleArn") or [None])[0]
            entry["role_session_name"] = (form.get("RoleSessionName") or [None])[0]
        fault = self.state.take_fault(server, action)
        if fault is not None:
            if fault["kind"] in self.fault_errors():
                entry["status"] = self.fault_errors()[fault["kind"]][0]
                entry["fault"] = fault["kind"]
                self.state.record(entry)
            if self.apply_fault(fault, entry, request_id):
                return
        if auth:
            entry["access_key_id"] = self.verify(auth, body)
        elif not (server == "sts" and action == "AssumeRoleWithWebIdentity"):
            self.state.record(entry)
            raise ApiError(400, "MissingAuthenticationTokenException", "Request is missing Authentication Token")
        status, headers, answer = self.forward(body)
        entry["status"] = status
        self.state.record(entry)
        if server == "sts" and status == 200:
            answer = self.expire_sts(answer)
            self.learn_sts(answer)
        self._send(status, answer, headers.get("Content-Type", "application/json"),
                   {k: v for k, v in headers.items() if k.lower() == "x-amzn-requestid"})

    def verify(self, auth: str, body: bytes) -> str:
        try:
            algo, rest = auth.split(" ", 1)
            parts = dict(p.strip().split("=", 1) for p in rest.split(","))
            akid, date, region, service, _ = parts["Credential"].split("/")
            signed = parts["SignedHeaders"].split(";")
        except (ValueError, KeyError):
            raise ApiError(400, "IncompleteSignatureException", "malformed Authorization")
        known = self.state.keys_known.get(akid)
        if algo != "AWS4-HMAC-SHA256" or known is None:
            raise ApiError(400, "UnrecognizedClientException", "The security token included in the request is invalid.")
        secret, token = known
        if token is not None and self.headers.get("X-Amz-Security-Token") != token:
            raise ApiError(400, "UnrecognizedClientException", "The security token included in the request is invalid.")
        amz_date = self.headers.get("X-Amz-Date") or ""
        headers = {name: self.headers.get(name) or "" for name in signed}
        want = botocore_authorization(self.command, "https://%s%s" % (self.headers.get("Host"), self.path),
                                      headers, body, akid, secret, token, region, service, amz_date)
        if want != auth:
            raise ApiError(403, "InvalidSignatureException",
                           "The request signature we calculated does not match the signature you provided.")
        return akid

    def forward(self, body: bytes) -> Tuple[int, Dict[str, str], bytes]:
        conn = http.client.HTTPConnection(MOTO[0], MOTO[1], timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() not in ("connection", "keep-alive", "transfer-encoding", "content-length")}
            conn.request(self.command, self.path, body=body, headers=headers)
            r = conn.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            conn.close()

    def fault_errors(self) -> Dict[str, Tuple[int, str, str]]:
        if getattr(self, "answering", "kms") == "sts":
            return {"throttle": (400, "Throttling", "Rate exceeded"),
                    "unavailable": (503, "ServiceUnavailable", "Service Unavailable"),
                    "internal": (500, "InternalFailure", "internal error"),
                    "expired": (400, "ExpiredTokenException", "expired")}
        return super().fault_errors()

    def expire_sts(self, answer: bytes) -> bytes:
        """Sets the Expiration of issued credentials to now + the configured lifetime."""
        expires = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=self.state.lifetime)
        stamp = expires.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
        return re.sub(rb"<Expiration>[^<]*</Expiration>", b"<Expiration>" + stamp + b"</Expiration>", answer)

    def learn_sts(self, answer: bytes) -> None:
        text = answer.decode("utf-8", "replace")

        def tag(name: str) -> Optional[str]:
            a, b = "<%s>" % name, "</%s>" % name
            if a in text and b in text:
                return text.split(a, 1)[1].split(b, 1)[0]
            return None
        akid, secret, token = tag("AccessKeyId"), tag("SecretAccessKey"), tag("SessionToken")
        if akid and secret and token:
            with self.state.lock:
                self.state.keys_known[akid] = (secret, token)


class MetadataHandler(AwsErrors, BaseHandler):
    """IMDSv2 (server "imds") or the container endpoint (server "container")."""

    server_version = "aws-test-metadata"
    state = STATE
    KIND = "imds"
    ROLE = "nacos-reader"
    imds_tokens: Dict[str, bool] = {}

    def handle_request(self, request_id: str) -> None:
        self._read_body()
        path = urlsplit(self.path).path
        entry: Dict[str, Any] = {"server": self.KIND, "method": self.command, "path": path,
                                 "token": bool(self.headers.get("x-aws-ec2-metadata-token")),
                                 "authorization": self.headers.get("Authorization"), "status": None}
        fault = self.state.take_fault(self.KIND, path)
        if fault is not None:
            entry["fault"] = fault["kind"]
            if fault["kind"] in self.fault_errors():
                entry["status"] = self.fault_errors()[fault["kind"]][0]
                self.state.record(entry)
            if self.apply_fault(fault, entry, request_id):
                return
        status, obj = self.answer(path)
        entry["status"] = status
        self.state.record(entry)
        if isinstance(obj, str):
            self._send(status, obj.encode(), "text/plain")
        else:
            self._send(status, json.dumps(obj).encode(), "application/json")

    def fault_errors(self) -> Dict[str, Tuple[int, str, str]]:
        # The metadata endpoints throttle with 429 and fail with bare 5xx statuses.
        return {"throttle": (429, "TooManyRequests", "Too Many Requests"),
                "unavailable": (503, "ServiceUnavailable", "Service Unavailable"),
                "internal": (500, "InternalError", "Internal Error")}

    def answer(self, path: str) -> Tuple[int, Any]:
        if self.KIND == "container":
            if path.startswith("/v2/credentials/") and len(path) > len("/v2/credentials/"):
                return 200, self.state.issue("CTR")  # the relative URI of ECS: no token
            if path != "/creds":
                return 404, {"message": "not found"}
            if self.headers.get("Authorization") != self.state.container_token:
                return 401, {"message": "bad token"}
            return 200, self.state.issue("CTR")
        if path == "/latest/api/token":
            if self.command != "PUT" or not self.headers.get("x-aws-ec2-metadata-token-ttl-seconds"):
                return 400, "token request must be a PUT with a TTL"
            token = secrets.token_urlsafe(24)
            MetadataHandler.imds_tokens[token] = True
            return 200, token
        if MetadataHandler.imds_tokens.get(self.headers.get("x-aws-ec2-metadata-token") or "") is None:
            return 401, "IMDSv2 token required"
        base = "/latest/meta-data/iam/security-credentials/"
        if path == base:
            return 200, self.ROLE + "\n"
        if path == base + self.ROLE:
            c = self.state.issue("IMD")
            c.update({"Code": "Success", "Type": "AWS-HMAC",
                      "LastUpdated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")})
            return 200, c
        return 404, "not found"


class ContainerHandler(MetadataHandler):
    KIND = "container"


class ControlHandler(ControlApi, AwsErrors, BaseHandler):
    state = STATE

    def routes(self) -> Dict[Tuple[str, str], Any]:
        r = super().routes()
        r[("POST", "/metadata")] = self.post_metadata
        return r

    def post_metadata(self, d: Any) -> Any:
        d = self._obj(d)
        if "lifetime" in d:
            self.state.lifetime = float(d["lifetime"])
        if "token" in d:
            self.state.container_token = str(d["token"])
        return {"ok": True, "issued": self.state.issued}

    def post_reset(self, d: Any) -> Any:
        self.state.lifetime = 3600.0
        return super().post_reset(d)


def create_keys(endpoint: str) -> Dict[str, str]:
    import boto3
    kms = boto3.client("kms", region_name=REGION, endpoint_url=endpoint,
                       aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET)
    out = {}
    for alias in ("alias/nacos", "alias/other"):
        arn = kms.create_key(Description="nacoscrypt test " + alias)["KeyMetadata"]["Arn"]
        kms.create_alias(AliasName=alias, TargetKeyId=arn)
        out[alias] = arn
    return out


def main(argv: Optional[list] = None) -> None:
    global MOTO
    args = loopback.parse_args(__doc__, "where the certificates go", argv)
    from moto.server import ThreadedMotoServer
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    MOTO = moto.get_host_and_port()
    moto_url = "http://%s:%d" % MOTO
    keys = create_keys(moto_url)
    paths, _, _ = loopback.generate_certificates(args.dir, selfsigned=False)
    tls = loopback.server_tls_context(paths["server.pem"], paths["server-key.pem"])
    front = LoopbackServer("front", FrontHandler, tls)
    imds = LoopbackServer("imds", MetadataHandler, None)
    container = LoopbackServer("container", ContainerHandler, None)
    control = LoopbackServer("control", ControlHandler, None)
    ready = {"kms": front.address, "ca": paths["ca.pem"], "other_ca": paths["other-ca.pem"],
             "control": "http://" + control.address, "imds": "http://" + imds.address,
             "container": "http://%s/creds" % container.address, "moto": moto_url, "keys": keys,
             "access_key_id": ACCESS_KEY_ID, "secret": SECRET, "region": REGION}
    loopback.serve({"front": front, "imds": imds, "container": container, "control": control},
                   ready, watch_stdin=not args.no_stdin)


if __name__ == "__main__":
    main()
