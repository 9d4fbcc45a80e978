"""Issue 17: TokenKeeper, Revocations, ServerIdentity rotation and auth_audit."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Tuple, Union

import pytest

from nacoscrypt import (
    AuthAudit,
    InvalidArgument,
    InvalidClaims,
    InvalidKey,
    Revocations,
    SecretKey,
    ServerIdentity,
    TokenCache,
    TokenKeeper,
    TokenManager,
    auth_audit,
)

NOW_MS = 1_700_000_000_000
GOOD_KEY = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
DOC_KEY = "SecretKey012345678901234567890123456789012345678901234567890123456789"


class Server:
    """A login endpoint that counts logins and is slow enough for threads to pile up."""

    def __init__(self) -> None:
        self.logins = 0
        self.lock = threading.Lock()

    def login(self) -> str:
        with self.lock:
            self.logins += 1
            n = self.logins
        time.sleep(0.05)
        return json.dumps({"accessToken": f"token-{n}", "tokenTtl": 18000, "globalAdmin": False})


def test_many_threads_cause_one_login() -> None:
    server = Server()
    keeper = TokenKeeper(server.login)
    barrier = threading.Barrier(16)

    def work(_: int) -> List[str]:
        barrier.wait()
        return [keeper.token(now_ms=NOW_MS) for _ in range(50)]

    with ThreadPoolExecutor(16) as pool:
        tokens = {t for batch in pool.map(work, range(16)) for t in batch}
    assert tokens == {"token-1"}
    assert server.logins == 1
    assert keeper.login_count == 1
    assert keeper.ttl == 18000
    refresh = keeper.refresh_at_ms
    assert refresh is not None
    assert NOW_MS + 14_400_000 <= refresh <= NOW_MS + 16_200_000
    assert "token-1" not in repr(keeper)


def test_forbidden_forces_one_relogin_then_backs_off() -> None:
    n = [0]

    def login() -> Tuple[str, int]:
        n[0] += 1
        return (f"t{n[0]}", 18000)

    keeper = TokenKeeper(login, jitter_window=0, min_backoff_ms=1000, max_backoff_ms=8000)
    assert keeper.token(now_ms=NOW_MS) == "t1"
    assert keeper.refresh_at_ms == NOW_MS + 16_200_000
    assert not keeper.forbidden("t0", now_ms=NOW_MS + 1)
    assert keeper.forbidden("t1", now_ms=NOW_MS + 1)
    assert keeper.token(now_ms=NOW_MS + 2) == "t2"
    # Refused again: the stale token is handed out until the backoff has passed.
    assert keeper.forbidden("t2", now_ms=NOW_MS + 3)
    assert keeper.token(now_ms=NOW_MS + 500) == "t2"
    assert keeper.token(now_ms=NOW_MS + 1002) == "t3"
    keeper.clear()
    assert keeper.token(now_ms=NOW_MS + 1003) == "t4"


def test_mapping_responses_and_bad_ones() -> None:
    keeper = TokenKeeper(lambda: {"accessToken": "m", "tokenTtl": 60})
    assert keeper.token(now_ms=0) == "m"
    with pytest.raises(InvalidArgument):
        TokenKeeper(lambda: ("t", 0)).token(now_ms=0)
    with pytest.raises(TypeError):
        TokenKeeper(lambda: 42).token(now_ms=0)  # type: ignore[arg-type, return-value]
    with pytest.raises(TypeError):
        TokenKeeper("not callable")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        TokenKeeper(lambda: "x", min_backoff_ms=10, max_backoff_ms=1)


def test_the_login_exception_reaches_every_waiting_thread() -> None:
    calls = [0]

    class LoginRefused(Exception):
        pass

    def login() -> str:
        calls[0] += 1
        time.sleep(0.05)
        raise LoginRefused("HTTP 403: unknown user")

    keeper = TokenKeeper(login)
    barrier = threading.Barrier(8)

    def work(_: int) -> str:
        barrier.wait()
        try:
            keeper.token(now_ms=NOW_MS)
        except LoginRefused as e:
            return str(e)
        return "no exception"

    with ThreadPoolExecutor(8) as pool:
        results = set(pool.map(work, range(8)))
    assert results == {"HTTP 403: unknown user"}
    assert calls[0] == 1
    # Backing off: the same exception, no new login.
    with pytest.raises(LoginRefused):
        keeper.token(now_ms=NOW_MS + 10)
    assert calls[0] == 1


def test_revocation_by_manager_and_cache() -> None:
    manager = TokenManager(SecretKey.from_bytes(bytes(range(32))))
    revoked = Revocations()
    cache = TokenCache(manager)
    cache.set_revocations(revoked)
    old = cache.issue("alice", now=1000).token
    assert cache.verify(old, now=1001).sub == "alice"
    revoked.revoke_before("alice", 1010)
    revoked.revoke_before("alice", 5)
    assert revoked.not_before("alice") == 1010
    assert revoked.not_before("bob") is None
    assert len(revoked) == 1
    with pytest.raises(InvalidClaims) as e:
        cache.verify(old, now=1011)
    assert "revoked" in str(e.value)
    assert e.value.nacos_message == "token invalid!"
    with pytest.raises(InvalidClaims):
        manager.verify_not_revoked(old, revoked, now=1011)
    assert manager.verify(old, now=1011).sub == "alice"
    new = cache.issue("alice", now=1011).token
    assert new != old
    assert manager.verify_not_revoked(new, revoked, now=1012).sub == "alice"
    revoked.forget("alice")
    assert len(revoked) == 0
    assert "Revocations(users=0)" == repr(revoked)


def test_identity_rotation() -> None:
    identity = ServerIdentity("X-Peer", "new-5f1c", previous_values=["old-d2f8"])
    assert identity.matches({"x-peer": "new-5f1c"})
    assert identity.matches({"x-peer": "old-d2f8"})
    assert not identity.matches_value("old-d2f9")
    assert identity.previous_value_count == 1
    assert "old-d2f8" not in repr(identity)
    with pytest.raises(InvalidKey):
        ServerIdentity("X-Peer", "v", previous_values=["security"])
    with pytest.raises(InvalidKey):
        ServerIdentity("X-Peer", "v", previous_values=[" "])


def test_auth_audit() -> None:
    text = (
        "nacos.core.auth.enabled=${NACOS_AUTH_ENABLE:false}\n"
        f"nacos.core.auth.plugin.nacos.token.secret.key={DOC_KEY}\n"
        "nacos.core.auth.plugin.nacos.token.expire.seconds=60\n"
        "nacos.core.auth.server.identity.key=serverIdentity\n"
        "nacos.core.auth.server.identity.value=security\n"
    )
    report = auth_audit(text, env={"NACOS_AUTH_ENABLE": "true"})
    assert isinstance(report, AuthAudit)
    codes = [f["code"] for f in report.findings]
    assert "public_secret_key" in codes and "token_expiry_short" in codes
    assert "auth_disabled" not in codes
    assert report.findings[0]["severity"] == "error"
    assert (report.ok, report.errors, report.warnings) == (False, 2, 2)
    assert DOC_KEY not in report.to_json()
    assert json.loads(report.to_json())["errors"] == 2

    good: Dict[str, str] = {
        "NACOS_AUTH_ENABLE": "true",
        "NACOS_AUTH_TOKEN": GOOD_KEY,
        "NACOS_AUTH_IDENTITY_KEY": "X-Peer",
        "NACOS_AUTH_IDENTITY_VALUE": "9c1f0e",
        "PATH": "/usr/bin",
    }
    report = auth_audit(env=good)
    assert report.passes(strict=True) and report.ok
    assert report.findings == []
    bare: Union[str, None] = None
    assert not auth_audit(bare).ok
