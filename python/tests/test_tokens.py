"""Tokens: SecretKey, TokenManager, AccessToken, Claims, TokenCache, ServerIdentity, AuthSettings."""

from __future__ import annotations

import base64
import email.message
import json
import time
import warnings
from pathlib import Path
from typing import Dict, Iterator, Mapping

import pytest

from nacoscrypt import (
    AccessToken,
    AuthSettings,
    Claims,
    InvalidArgument,
    InvalidClaims,
    InvalidKey,
    InvalidSignature,
    SecretKey,
    ServerIdentity,
    SettingsError,
    TokenCache,
    TokenExpired,
    TokenManager,
    UnsupportedAlgorithm,
    needs_refresh,
    refresh_at_ms,
)
from support import PUBLIC_KEY_256

NOW = 1_700_000_000


def test_secret_key_basics() -> None:
    key = SecretKey.generate()
    assert (key.algorithm, key.bits) == ("HS256", 256)
    text = key.to_base64()
    assert len(base64.b64decode(text)) == 32
    assert SecretKey.from_base64(text).to_base64() == text
    assert repr(key) == "SecretKey(algorithm='HS256', bits=256)"
    assert text not in repr(key) and text not in str(key)
    assert SecretKey.from_bytes(bytes(range(48))).algorithm == "HS384"
    assert SecretKey.from_bytes(bytes(range(64))).algorithm == "HS512"
    with pytest.raises(InvalidKey):
        SecretKey.from_bytes(bytes(31))
    with pytest.raises(TypeError):
        SecretKey()  # no constructor: use from_base64, from_bytes or generate


def test_manager_issue_and_verify() -> None:
    manager = TokenManager(SecretKey.generate())
    assert (manager.validity, manager.leeway, manager.algorithm) == (18_000, 0, "HS256")
    token = manager.issue("nacos", now=NOW)
    assert isinstance(token, AccessToken)
    assert (token.ttl, token.expires_at, token.subject) == (18_000, NOW + 18_000, "nacos")
    assert token.token.startswith("eyJhbGciOiJIUzI1NiJ9.")
    claims = manager.verify(token.token, now=NOW + 18_000)
    assert claims == Claims("nacos", NOW + 18_000)
    assert (claims.sub, claims.exp) == ("nacos", NOW + 18_000)
    assert hash(claims) == hash(Claims("nacos", NOW + 18_000))
    with pytest.raises(TokenExpired) as info:
        manager.verify(token.token, now=NOW + 18_001)
    assert info.value.nacos_message == "token expired!"


def test_manager_uses_the_clock_by_default() -> None:
    manager = TokenManager(SecretKey.generate(), validity=60)
    before = int(time.time())
    token = manager.issue("nacos")
    assert before + 60 <= token.expires_at <= int(time.time()) + 60
    assert manager.verify(token.token).sub == "nacos"


def test_validity_leeway_and_str_secrets() -> None:
    secret = SecretKey.generate().to_base64()
    manager = TokenManager(secret, validity=600, leeway=30)
    token = manager.issue("nacos", now=NOW)
    assert token.ttl == 600
    assert manager.verify(token.token, now=NOW + 630).sub == "nacos"
    with pytest.raises(TokenExpired):
        manager.verify(token.token, now=NOW + 631)
    with pytest.raises(InvalidArgument):
        TokenManager(secret, validity=0)
    with pytest.raises(InvalidArgument):
        TokenManager(secret, validity=-1)
    with pytest.raises(InvalidArgument):
        TokenManager(secret, leeway=-1)
    with pytest.raises(TypeError):
        TokenManager(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        TokenManager(secret, previous=secret)  # a str is iterable, but never a list of keys


def test_rotation_with_previous_keys() -> None:
    old_256 = SecretKey.generate()
    old_512 = SecretKey.from_bytes(bytes(range(1, 65)))
    new = SecretKey.from_bytes(bytes(range(100, 148)))  # HS384
    old_tokens = [TokenManager(k).issue("alice", now=NOW).token for k in (old_256, old_512)]
    manager = TokenManager(new, previous=[old_256, old_512.to_base64()])
    assert manager.algorithm == "HS384"
    assert "previous_keys=2" in repr(manager)
    for token in old_tokens:
        assert manager.verify(token, now=NOW).sub == "alice"
    assert manager.issue("bob", now=NOW).token.startswith("eyJhbGciOiJIUzM4NCJ9.")
    with pytest.raises(UnsupportedAlgorithm):  # an HS256 token, an HS384 key
        TokenManager(new).verify(old_tokens[0], now=NOW)
    with pytest.raises(InvalidSignature):  # same algorithm, another key
        TokenManager(SecretKey.generate()).verify(old_tokens[0], now=NOW)


def test_login_json_and_repr() -> None:
    manager = TokenManager(SecretKey.from_base64(PUBLIC_KEY_256, allow_publicly_known=True))
    token = manager.issue("nacos", now=NOW)
    assert json.loads(token.to_login_json()) == {
        "accessToken": token.token,
        "tokenTtl": 18_000,
        "globalAdmin": False,
        "username": "nacos",
    }
    assert token.to_login_json(global_admin=True) == (
        '{"accessToken":"%s","tokenTtl":18000,"globalAdmin":true,"username":"nacos"}' % token.token
    )
    assert json.loads(token.to_login_json(username='a"b'))["username"] == 'a"b'
    assert token.token not in repr(token)
    assert repr(token) == f"AccessToken(subject='nacos', ttl=18000, expires_at={NOW + 18_000}, token=<redacted>)"
    assert token == manager.issue("nacos", now=NOW)


@pytest.mark.filterwarnings("ignore:TokenCache.login:DeprecationWarning")  # the deprecated alias
def test_token_cache() -> None:
    manager = TokenManager(SecretKey.generate())
    cache = TokenCache(manager)
    assert cache.manager is manager
    now_ms = NOW * 1000
    first = cache.login("nacos", now_ms=now_ms)
    assert first.ttl == 18_000
    again = cache.login("nacos", now_ms=now_ms + 60_000)
    assert (again.token, again.ttl) == (first.token, 17_940)
    later = cache.login("nacos", now_ms=now_ms + 16_200_000)  # 90% of the validity: a new one
    assert later.token != first.token and later.ttl == 18_000
    assert cache.verify(later.token, now=NOW + 16_200).sub == "nacos"
    assert (cache.login_count, cache.verified_count) == (1, 1)
    with pytest.raises(TokenExpired):
        cache.verify(first.token, now=NOW + 18_001)
    cache.invalidate_user("nacos")
    assert cache.login_count == 0
    cache.evict_expired(now=NOW + 10**6)
    assert cache.verified_count == 0
    cache.login("x")
    cache.clear()
    assert repr(cache) == "TokenCache(logins=0, verified=0)"


def test_token_cache_issue_takes_unix_seconds() -> None:
    manager = TokenManager(SecretKey.generate())
    cache = TokenCache(manager)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # issue is not deprecated
        first = cache.issue("nacos", now=NOW)
    assert (first.subject, first.ttl, first.expires_at) == ("nacos", 18_000, NOW + 18_000)
    again = cache.issue("nacos", now=NOW + 60)  # within the cache window: the same token
    assert (again.token, again.ttl, again.expires_at) == (first.token, 17_940, NOW + 18_000)
    assert cache.issue("other", now=NOW + 60).token != first.token
    later = cache.issue("nacos", now=NOW + 16_200)  # 90% of the validity: a new one
    assert later.token != first.token and later.ttl == 18_000
    assert later.expires_at == NOW + 16_200 + 18_000
    with pytest.raises(TokenExpired):
        cache.verify(first.token, now=NOW + 18_001)
    assert cache.login_count == 2
    assert cache.issue("x").ttl == 18_000  # the clock
    far = cache.issue("u", now=2**62)  # no detour through milliseconds: no overflow
    assert (far.ttl, far.expires_at) == (18_000, 2**62 + 18_000)
    with pytest.raises(InvalidArgument, match="expiry out of range"):
        cache.issue("v", now=2**63 - 1)
    with pytest.raises(InvalidArgument, match="64-bit"):
        cache.issue("u", now=2**63)


def test_token_cache_login_is_a_deprecated_alias_in_milliseconds() -> None:
    cache = TokenCache(TokenManager(SecretKey.generate()))
    issued = cache.issue("nacos", now=NOW)
    with pytest.warns(DeprecationWarning, match=r"TokenCache\.issue"):
        logged_in = cache.login("nacos", now_ms=NOW * 1000 + 60_000)
    assert (logged_in.token, logged_in.ttl) == (issued.token, 17_940)
    with pytest.warns(DeprecationWarning):
        assert TokenCache(cache.manager).login("x").ttl == 18_000  # the clock
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DeprecationWarning):
            cache.login("y", now_ms=NOW * 1000)
    assert cache.login_count == 1, "a login refused by the warning filter does nothing"


def test_refresh_timing() -> None:
    assert refresh_at_ms(1_000, 18_000) == 1_000 + 16_200_000
    assert not needs_refresh(1_000, 18_000, now_ms=16_200_999)
    assert needs_refresh(1_000, 18_000, now_ms=16_201_000)
    assert not needs_refresh(int(time.time() * 1000), 18_000)


class Headers(Mapping[str, str]):
    """A read-only, case-preserving mapping, like a web framework's headers."""

    def __init__(self, **items: str) -> None:
        self._items = {k.replace("_", "-"): v for k, v in items.items()}

    def __getitem__(self, key: str) -> str:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


def test_server_identity() -> None:
    identity = ServerIdentity("X-Nacos-Peer", "d2f8c0e7a1b9")
    assert identity.key == "X-Nacos-Peer"
    assert identity.matches({"accept": "*/*", "x-nacos-peer": "d2f8c0e7a1b9"})
    assert not identity.matches({"X-Nacos-Peer": "D2F8C0E7A1B9"})
    assert not identity.matches({})
    assert identity.matches(Headers(X_NACOS_PEER="d2f8c0e7a1b9"))
    message = email.message.Message()
    message["X-NACOS-PEER"] = "d2f8c0e7a1b9"
    assert identity.matches(message)
    assert identity.matches_value("d2f8c0e7a1b9") and not identity.matches_value("d2f8")
    assert "d2f8c0e7a1b9" not in repr(identity)
    assert repr(identity) == "ServerIdentity(key='X-Nacos-Peer', value=<redacted>)"
    with pytest.raises(TypeError):
        identity.matches({"x-nacos-peer": b"d2f8c0e7a1b9"})  # type: ignore[dict-item]
    with pytest.raises(InvalidKey):
        ServerIdentity("serverIdentity", "security")
    assert ServerIdentity("serverIdentity", "security", allow_publicly_known=True).matches(
        {"serveridentity": "security"}
    )


def test_auth_settings(tmp_path: Path) -> None:
    secret = SecretKey.generate().to_base64()
    text = (
        f"nacos.core.auth.plugin.nacos.token.secret.key=${{NACOS_AUTH_TOKEN:{secret}}}\n"
        "nacos.core.auth.plugin.nacos.token.expire.seconds=600\n"
        "nacos.core.auth.plugin.nacos.token.cache.enable=true\n"
        "nacos.core.auth.server.identity.key=X-Peer\n"
        "nacos.core.auth.server.identity.value=d2f8c0e7a1b9\n"
    )
    settings = AuthSettings.from_properties(text)
    assert (settings.expire_seconds, settings.cache_enabled, settings.identity_key) == (600, True, "X-Peer")
    assert settings.has_secret_key
    assert secret not in repr(settings) and "d2f8c0e7a1b9" not in repr(settings)
    manager = settings.token_manager()
    assert manager.validity == 600
    assert settings.server_identity().matches({"x-peer": "d2f8c0e7a1b9"})

    other = SecretKey.generate().to_base64()
    from_env = AuthSettings.from_properties(text, env={"NACOS_AUTH_TOKEN": other})
    token = from_env.token_manager().issue("nacos", now=NOW)
    assert TokenManager(other).verify(token.token, now=NOW).sub == "nacos"

    path = tmp_path / "application.properties"
    path.write_text(text)
    assert AuthSettings.from_file(path).expire_seconds == 600

    docker = AuthSettings.from_env({"NACOS_AUTH_TOKEN_EXPIRE_SECONDS": "60", "PATH": "/bin"})
    assert docker.expire_seconds == 60 and not docker.has_secret_key
    with pytest.raises(SettingsError):
        docker.token_manager()
    assert isinstance(AuthSettings.from_env().expire_seconds, int)
    public: Dict[str, str] = {"NACOS_AUTH_TOKEN": PUBLIC_KEY_256}
    with pytest.raises(InvalidKey):
        AuthSettings.from_env(public).token_manager()
    assert AuthSettings.from_env(public).token_manager(allow_publicly_known=True).algorithm == "HS256"


def test_str_arguments_are_read_in_place() -> None:
    """str arguments are read from the interpreter's own UTF-8 form (no copy): ASCII, text
    beyond ASCII (whose UTF-8 form the str caches), str subclasses and embedded NULs all
    arrive intact, and the str is unchanged afterwards."""

    class Text(str):
        pass

    manager = TokenManager(SecretKey.generate())
    for subject in ["nacos", "Zoë 用户 🔐", Text("sub-class"), "x" * 4_000]:
        token = manager.issue(subject, now=NOW)
        assert token.subject == subject
        assert manager.verify(Text(token.token), now=NOW).sub == subject
        assert manager.verify(token.token, now=NOW).sub == subject
    with pytest.raises(InvalidClaims):
        manager.issue("a\x00b", now=NOW)  # read whole (NUL included), refused by the rule
    assert Claims("", 1).sub == ""  # the empty str: a valid, empty borrow
    text = "é" * 3
    manager.issue(text, now=NOW)
    assert text == "ééé" and len(text.encode()) == 6
