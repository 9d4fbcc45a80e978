#!/usr/bin/env python3
"""A loopback stand-in for the Nacos server's v1 open API, for ffi/examples/open_api.c.

What it does is what the Nacos server does for these calls (ConfigController, the auth
plugin's login and token filter):
- POST /nacos/v1/auth/login (form username, password) -> {"accessToken", "tokenTtl",
  "globalAdmin", "username"}; the token is an HS256 JWT {"sub", "exp"} (standard library HMAC).
- POST /nacos/v1/cs/configs (form dataId, group, tenant, content, encryptedDataKey,
  accessToken) -> "true"; GET /nacos/v1/cs/configs?dataId&group&tenant&accessToken -> the content
  as the body and the response header Encrypted-Data-Key when one was published; 404 otherwise.
- A missing, forged or expired token: 403 "token invalid!".
Test switches: --rotate-secret-after-publish rotates the signing secret after the first publish
(old tokens then get 403, as after a secret change on the server); --refuse-containing TEXT
rejects a publish whose content contains TEXT (a plaintext that must never reach the server).

Prints one JSON line {"port": N} when ready; exits when its standard input closes.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

USERS = {"nacos": "nacos-password"}
TTL = 18000


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class State:
    def __init__(self, rotate: bool, refuse: Optional[str]) -> None:
        self.secret = os.urandom(32)
        self.rotate = rotate
        self.refuse = refuse
        self.logins = 0
        self.configs: Dict[Tuple[str, str, str], Tuple[str, str]] = {}
        self.lock = threading.Lock()

    def issue(self, user: str) -> str:
        head = b64url(json.dumps({"alg": "HS256"}, separators=(",", ":")).encode())
        body = b64url(json.dumps({"sub": user, "exp": int(time.time()) + TTL},
                                 separators=(",", ":")).encode())
        sig = hmac.new(self.secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
        return f"{head}.{body}.{b64url(sig)}"

    def valid(self, token: str) -> bool:
        parts = token.split(".")
        if len(parts) != 3:
            return False
        sig = hmac.new(self.secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(b64url(sig), parts[2]):
            return False
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        return int(claims.get("exp", 0)) > time.time()


def handler(state: State) -> type:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt: str, *args: object) -> None:  # quiet
            pass

        def reply(self, status: int, body: str, headers: Optional[Dict[str, str]] = None) -> None:
            raw = body.encode()
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(raw)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(raw)

        def params(self) -> Dict[str, str]:
            query = parse_qs(urlsplit(self.path).query, keep_blank_values=True)
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True) if length else {}
            return {k: v[0] for k, v in {**query, **form}.items()}

        def authorized(self, p: Dict[str, str]) -> bool:
            with state.lock:
                ok = state.valid(p.get("accessToken", ""))
            if not ok:
                self.reply(403, "token invalid!")
            return ok

        def do_POST(self) -> None:
            path, p = urlsplit(self.path).path, self.params()
            if path == "/nacos/v1/auth/login":
                if USERS.get(p.get("username", "")) != p.get("password"):
                    return self.reply(403, "unknown user!")
                with state.lock:
                    state.logins += 1
                    token = state.issue(p["username"])
                return self.reply(200, json.dumps({"accessToken": token, "tokenTtl": TTL,
                                                   "globalAdmin": False, "username": p["username"]}),
                                  {"Content-Type": "application/json"})
            if path == "/nacos/v1/cs/configs":
                if not self.authorized(p):
                    return None
                content = p.get("content", "")
                if not p.get("dataId") or not content:
                    return self.reply(400, "dataId and content are required")
                if state.refuse and state.refuse in content:
                    return self.reply(400, "plaintext reached the server")
                key = (p.get("tenant", ""), p.get("group") or "DEFAULT_GROUP", p["dataId"])
                with state.lock:
                    state.configs[key] = (content, p.get("encryptedDataKey", ""))
                    if state.rotate:
                        state.secret, state.rotate = os.urandom(32), False
                return self.reply(200, "true")
            return self.reply(404, "no such API")

        def do_GET(self) -> None:
            path, p = urlsplit(self.path).path, self.params()
            if path != "/nacos/v1/cs/configs":
                return self.reply(404, "no such API")
            if not self.authorized(p):
                return None
            key = (p.get("tenant", ""), p.get("group") or "DEFAULT_GROUP", p.get("dataId", ""))
            with state.lock:
                found = state.configs.get(key)
            if found is None:
                return self.reply(404, "config data not exist")
            content, edk = found
            headers = {"Content-Type": "text/plain;charset=UTF-8", "Config-Type": "text"}
            if edk:
                headers["Encrypted-Data-Key"] = edk
            return self.reply(200, content, headers)

    return Handler


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rotate-secret-after-publish", action="store_true")
    ap.add_argument("--refuse-containing")
    args = ap.parse_args()
    state = State(args.rotate_secret_after_publish, args.refuse_containing)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(state))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({"port": server.server_address[1]}), flush=True)
    sys.stdin.read()  # until the test closes our standard input
    server.shutdown()
    print(json.dumps({"logins": state.logins, "configs": len(state.configs)}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
