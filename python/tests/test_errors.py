"""Every exception class: the hierarchy, the kind table, and a real call raising each one."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Dict, List, Type

import pytest

import nacoscrypt
from nacoscrypt import (
    AuthSettings,
    ConfigError,
    ContentTooLarge,
    DecryptionError,
    EmptyContent,
    FileError,
    InvalidArgument,
    InvalidClaims,
    InvalidKey,
    InvalidSignature,
    InvalidToken,
    KeyringError,
    KeyringPermissionError,
    KmsError,
    LocalKms,
    LoginError,
    MalformedToken,
    NacosCryptError,
    NotEncryptedDataId,
    SecretKey,
    ServerIdentity,
    SettingsError,
    TokenExpired,
    TokenManager,
    UnsupportedAlgorithm,
    decrypt_config,
    encrypt_config,
)
from nacoscrypt._native import _error_classes

HIERARCHY: Dict[Type[NacosCryptError], Type[BaseException]] = {
    NacosCryptError: Exception,
    InvalidArgument: NacosCryptError,
    InvalidKey: NacosCryptError,
    InvalidToken: NacosCryptError,
    MalformedToken: InvalidToken,
    UnsupportedAlgorithm: InvalidToken,
    InvalidSignature: InvalidToken,
    InvalidClaims: InvalidToken,
    TokenExpired: InvalidToken,
    ConfigError: NacosCryptError,
    NotEncryptedDataId: ConfigError,
    EmptyContent: ConfigError,
    ContentTooLarge: ConfigError,
    DecryptionError: ConfigError,
    KmsError: ConfigError,
    KeyringError: NacosCryptError,
    KeyringPermissionError: KeyringError,
    SettingsError: NacosCryptError,
    FileError: NacosCryptError,
    LoginError: NacosCryptError,
}

KEYRING = (
    "key alias/nacos 52f22665-a60c-42d2-a918-5d950ee88136 "
    "CRZvaxE9F41sD9OQH/I5oaCV8g+TlWUM+TgLjtsiSms=\n"
)
KEY_B64 = "CRZvaxE9F41sD9OQH/I5oaCV8g+TlWUM+TgLjtsiSms="


def test_hierarchy_and_public_names() -> None:
    for cls, base in HIERARCHY.items():
        assert cls.__bases__ == (base,), cls
        assert cls.__module__ == "nacoscrypt"
        assert getattr(nacoscrypt, cls.__name__) is cls
        assert cls.__name__ in nacoscrypt.__all__
        assert cls.__doc__
    exported = {
        obj
        for name in nacoscrypt.__all__
        if isinstance(obj := getattr(nacoscrypt, name), type) and issubclass(obj, BaseException)
    }
    assert exported == set(HIERARCHY)


def test_every_core_kind_maps_to_a_class() -> None:
    table = _error_classes()
    assert len(table) == 30  # ErrorKind::ALL of the core
    assert table["login_failed"] is LoginError
    token_kinds = {"malformed", "unsupported_algorithm", "invalid_signature", "invalid_claims", "expired"}
    for kind, cls in table.items():
        assert issubclass(cls, NacosCryptError), kind
        assert (kind in token_kinds) == issubclass(cls, InvalidToken), kind
        if cls is NacosCryptError:
            assert kind == "random", "only the RNG failure raises the base class"
    # Every leaf class stands for at least one kind.
    leaves = {c for c in HIERARCHY if not any(b is c for b in HIERARCHY.values())}
    assert leaves <= set(table.values())


def test_class_defaults_for_exceptions_raised_by_python_code() -> None:
    assert TokenExpired("x").nacos_message == "token expired!"
    assert InvalidSignature("x").nacos_message == "Invalid signature"
    assert InvalidToken("x").nacos_message == "token invalid!"
    assert TokenExpired("x").kind == "expired"
    assert DecryptionError("x").kind == ""  # several kinds share the class


def test_exceptions_pickle() -> None:
    err = pickle.loads(pickle.dumps(TokenExpired("token expired")))
    assert type(err) is TokenExpired


def raised(call: object) -> NacosCryptError:
    assert callable(call)
    with pytest.raises(NacosCryptError) as info:
        call()
    return info.value


def test_each_class_from_a_real_call(tmp_path: Path) -> None:
    local = LocalKms.from_string(KEYRING)
    manager = TokenManager(SecretKey.generate())
    good = manager.issue("nacos", now=1_000)
    header, payload, signature = good.token.split(".")

    def enc(data_id: str, content: str, key_id: str = "alias/nacos") -> None:
        encrypt_config(local, data_id=data_id, group="g", content=content, key_id=key_id)

    cases: List[tuple[Type[NacosCryptError], str, object]] = [
        (InvalidArgument, "invalid_argument", lambda: encrypt_config(
            local, data_id="cipher-x", group="g", content="x", key_id="alias/nacos", format="v2"  # type: ignore[arg-type]
        )),
        (InvalidArgument, "invalid_argument", lambda: TokenManager(SecretKey.generate(), validity=0)),
        (InvalidKey, "too_short", lambda: SecretKey.from_base64("AAAA")),
        (InvalidKey, "invalid_base64_secret", lambda: SecretKey.from_base64("a-b_c" * 10)),
        (InvalidKey, "invalid_identity", lambda: ServerIdentity("X-Peer", "")),
        (InvalidKey, "publicly_known", lambda: ServerIdentity("serverIdentity", "security")),
        (MalformedToken, "malformed", lambda: manager.verify("", now=1_000)),
        (UnsupportedAlgorithm, "unsupported_algorithm", lambda: manager.verify(
            "eyJhbGciOiJIUzUxMiJ9." + payload + "." + signature, now=1_000)),
        (InvalidSignature, "invalid_signature", lambda: manager.verify(
            header + "." + payload + "." + signature[:-2] + "AA", now=1_000)),
        (TokenExpired, "expired", lambda: manager.verify(good.token, now=1_000 + 18_001)),
        (NotEncryptedDataId, "not_encrypted_data_id", lambda: enc("application.yaml", "x")),
        (EmptyContent, "empty_content", lambda: enc("cipher-x", "")),
        (ContentTooLarge, "content_too_large", lambda: enc("cipher-x", "x" * 6145)),
        (DecryptionError, "invalid_base64", lambda: decrypt_config(
            local, data_id="cipher-kms-aes-256-x", group="g", content="!!", encrypted_data_key="e")),
        (KmsError, "unknown_key", lambda: enc("cipher-x", "x", key_id="alias/missing")),
        (KeyringError, "keyring_syntax", lambda: LocalKms.from_string("key alias/x short AAAA\n")),
        (KeyringError, "duplicate_key_version", lambda: LocalKms.from_string(KEYRING + KEYRING)),
        (KeyringError, "keyring_key_length", lambda: LocalKms.from_string(
            KEYRING.replace(KEY_B64, "AAAA"))),
        (SettingsError, "invalid_settings", lambda: AuthSettings.from_properties(
            "nacos.core.auth.plugin.nacos.token.expire.seconds=soon\n")),
        (FileError, "io", lambda: LocalKms.from_file(tmp_path / "missing")),
        (FileError, "io", lambda: AuthSettings.from_file(tmp_path / "missing.properties")),
    ]
    for cls, kind, call in cases:
        err = raised(call)
        assert type(err) is cls, (cls, kind, err)
        assert err.kind == kind, (cls, kind, err)
        for secret in (KEY_B64, good.token, signature):
            assert secret not in str(err) and secret not in repr(err)


def test_invalid_claims() -> None:
    import base64
    import hashlib
    import hmac

    key = SecretKey.generate()
    raw = base64.b64decode(key.to_base64())
    header = "eyJhbGciOiJIUzI1NiJ9"
    payload = base64.urlsafe_b64encode(b'{"sub":"nacos","exp":"soon"}').rstrip(b"=").decode()
    mac = hmac.new(raw, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    token = f"{header}.{payload}." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    with pytest.raises(InvalidClaims) as info:
        TokenManager(key).verify(token, now=0)
    assert info.value.nacos_message == "token invalid!"


def test_loose_permissions(tmp_path: Path) -> None:
    path = tmp_path / "keyring"
    LocalKms.create(path, "alias/nacos")
    os.chmod(path, 0o644)
    with pytest.raises(KeyringPermissionError) as info:
        LocalKms.from_file(path)
    assert info.value.kind == "loose_permissions"
    assert "chmod 600" in str(info.value)
    assert isinstance(info.value, KeyringError)


def test_content_too_large_names_both_numbers() -> None:
    local = LocalKms.from_string(KEYRING)
    with pytest.raises(ContentTooLarge) as info:
        encrypt_config(local, data_id="cipher-kms-aes-256-x", group="g", content="é" * 25_601,
                       key_id="alias/nacos")
    assert "51202" in str(info.value) and "51200" in str(info.value)
    # Exactly at the limit is accepted.
    stored = encrypt_config(local, data_id="cipher-kms-aes-256-x", group="g", content="x" * 51_200,
                            key_id="alias/nacos")
    assert len(stored.content) > 51_200


def test_token_errors_carry_the_server_message() -> None:
    manager = TokenManager(SecretKey.generate())
    messages = {
        "": "user not found!",
        "a.b": "token invalid!",
    }
    for token, message in messages.items():
        with pytest.raises(MalformedToken) as info:
            manager.verify(token, now=0)
        assert info.value.nacos_message == message


def registered_exceptions() -> Dict[str, str]:
    """The exception classes the native module registers: name -> the name of its one base."""
    from nacoscrypt import _native

    classes: Dict[str, str] = {}
    for name, obj in vars(_native).items():
        if isinstance(obj, type) and issubclass(obj, BaseException):
            assert len(obj.__bases__) == 1, name
            classes[name] = obj.__bases__[0].__name__
    return classes


def test_stubs_and_exports_list_exactly_the_registered_classes() -> None:
    """The classes are declared once in python/src/errors.rs; the stub and ``__init__`` must
    list them as static text, so this checks that neither drifts."""
    import ast

    registered = registered_exceptions()
    assert "NacosCryptError" in registered and len(registered) == len(HIERARCHY)

    # The stub: the classes deriving from Exception, with the same bases, all in its __all__.
    stub = Path(__file__).resolve().parents[1] / "nacoscrypt" / "_native.pyi"
    tree = ast.parse(stub.read_text(encoding="utf-8"))
    bases = {
        node.name: [ast.unparse(b) for b in node.bases]
        for node in tree.body
        if isinstance(node, ast.ClassDef)
    }
    in_stub: Dict[str, str] = {}
    grew = True
    while grew:
        grew = False
        for name, names in bases.items():
            if name not in in_stub and len(names) == 1 and (
                names[0] == "Exception" or names[0] in in_stub
            ):
                in_stub[name] = names[0]
                grew = True
    assert in_stub == registered
    stub_all = next(
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
    )
    assert set(registered) <= set(stub_all)

    # The package: re-exports exactly these classes, the native objects themselves.
    from nacoscrypt import _native

    exported = {
        name
        for name in nacoscrypt.__all__
        if isinstance(obj := getattr(nacoscrypt, name), type) and issubclass(obj, BaseException)
    }
    assert exported == set(registered)
    for name in registered:
        assert getattr(nacoscrypt, name) is getattr(_native, name), name
