"""Python micro-benchmarks of the nacoscrypt binding beside PyJWT and `cryptography`.

Run by compare.py with the interpreter of build/venv-py (which has pyjwt and cryptography);
prints one JSON object: {"name": seconds per call, ...}. The peers implement the same steps as
the library: for tokens, HS256 over the same claims; for configs, the envelope (a fresh data
key wrapped with the master key by AES-256-GCM, as the local keyring does, then the content
sealed with AES-256-GCM bound to the config's identity for `v1`, or AES-256-ECB + PKCS#7 for
`nacos`, and standard base64), and on decryption the UTF-8 decoding of the result.
"""

from __future__ import annotations

import base64
import json
import os
import struct
import sys
import tempfile
import timeit

import jwt
import nacoscrypt
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

EXP = 4_102_444_800  # 2100-01-01: valid whenever this runs
SUBJECT = "nacos"
SIZE = 50 * 1024
DATA_ID = "cipher-kms-aes-256-bench.properties"
GROUP = "DEFAULT_GROUP"


def per_call(stmt, number_hint: int | None = None, repeat: int = 7, **names: object) -> float:
    """Best of `repeat` runs of about 0.2 s each: seconds per call.

    `stmt` is a callable, or a statement (str) over `names`: timed as written, as
    `python -m timeit` does, so a one-call statement costs what that call costs in a caller's
    code, without the frame of a wrapping lambda (~40 ns on CPython 3.11).
    """
    timer = timeit.Timer(stmt, globals=names) if isinstance(stmt, str) else timeit.Timer(stmt)
    number = number_hint or timer.autorange()[0]
    return min(timer.repeat(repeat=repeat, number=number)) / number


def lp(b: bytes) -> bytes:
    return struct.pack(">I", len(b)) + b


def tokens(results: dict[str, float]) -> None:
    secret = bytes(i ^ 0x5A for i in range(32))
    manager = nacoscrypt.TokenManager(nacoscrypt.SecretKey.from_bytes(secret))
    token = manager.issue(SUBJECT, now=EXP - 18_000).token
    claims = {"sub": SUBJECT, "exp": EXP}
    # Same claims, same bytes: PyJWT writes the header differently, so compare decode on each
    # library's own token of the same claims.
    peer_token = jwt.encode(claims, secret, algorithm="HS256")
    assert manager.verify(token).sub == SUBJECT
    assert jwt.decode(peer_token, secret, algorithms=["HS256"])["sub"] == SUBJECT

    # Each call as a caller writes it (a statement, not wrapped in a lambda), ours and the peer's.
    names = {"manager": manager, "token": token, "jwt": jwt, "peer_token": peer_token,
             "secret": secret, "claims": claims, "SUBJECT": SUBJECT, "now": EXP - 9_000}
    results["py_token_verify/nacoscrypt"] = per_call("manager.verify(token)", **names)
    results["py_token_verify_now/nacoscrypt"] = per_call("manager.verify(token, now=now)", **names)
    results["py_token_verify/pyjwt"] = per_call(
        'jwt.decode(peer_token, secret, algorithms=["HS256"])', **names
    )
    results["py_token_sign/nacoscrypt"] = per_call("manager.issue(SUBJECT)", **names)
    results["py_token_sign/pyjwt"] = per_call(
        'jwt.encode(claims, secret, algorithm="HS256")', **names
    )


class PeerEnvelope:
    """The library's envelope steps with `cryptography` + stdlib base64."""

    def __init__(self) -> None:
        self.master = AESGCM(os.urandom(32))
        self.version_id = os.urandom(36)

    def _context_aad(self, pairs: list[tuple[str, str]]) -> bytes:
        aad = b"nacoscrypt:kms:v1"
        for k, v in sorted(pairs):
            aad += lp(k.encode()) + lp(v.encode())
        return aad

    def wrap(self, key: bytes, pairs: list[tuple[str, str]]) -> str:
        nonce = os.urandom(12)
        sealed = self.master.encrypt(nonce, key, self._context_aad(pairs))
        return base64.b64encode(self.version_id + nonce + sealed).decode("ascii")

    def unwrap(self, blob: str, pairs: list[tuple[str, str]]) -> bytes:
        raw = base64.b64decode(blob, validate=True)
        return self.master.decrypt(raw[36:48], raw[48:], self._context_aad(pairs))

    @staticmethod
    def v1_pairs() -> list[tuple[str, str]]:
        return [("dataId", DATA_ID), ("group", GROUP), ("tenant", "public")]

    @staticmethod
    def v1_aad(edk: str) -> bytes:
        return (
            b"nacoscrypt:v1"
            + lp(b"public")
            + lp(GROUP.encode())
            + lp(DATA_ID.encode())
            + lp(edk.encode())
        )

    def encrypt_v1(self, content: str) -> tuple[str, str]:
        key = os.urandom(32)
        edk = self.wrap(key, self.v1_pairs())
        nonce = os.urandom(12)
        sealed = AESGCM(key).encrypt(nonce, content.encode("utf-8"), self.v1_aad(edk))
        return "nc1:" + base64.b64encode(nonce + sealed).decode("ascii"), edk

    def decrypt_v1(self, content: str, edk: str) -> str:
        key = self.unwrap(edk, self.v1_pairs())
        raw = base64.b64decode(content[4:], validate=True)
        plain = AESGCM(key).decrypt(raw[:12], raw[12:], self.v1_aad(edk))
        return plain.decode("utf-8")

    def encrypt_nacos(self, content: str) -> tuple[str, str]:
        key = os.urandom(32)
        edk = self.wrap(key, [])
        padder = padding.PKCS7(128).padder()
        data = padder.update(content.encode("utf-8")) + padder.finalize()
        enc = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
        return base64.b64encode(enc.update(data) + enc.finalize()).decode("ascii"), edk

    def decrypt_nacos(self, content: str, edk: str) -> str:
        key = self.unwrap(edk, [])
        dec = Cipher(algorithms.AES(key), modes.ECB()).decryptor()
        data = dec.update(base64.b64decode(content, validate=True)) + dec.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return (unpadder.update(data) + unpadder.finalize()).decode("utf-8")


def configs(results: dict[str, float]) -> None:
    text = ("spring.datasource.password=s3cret\n" * (SIZE // 34 + 1))[:SIZE]
    with tempfile.TemporaryDirectory() as tmp:
        kms = nacoscrypt.LocalKms.create(os.path.join(tmp, "keyring"), "alias/bench")
    peer = PeerEnvelope()
    for fmt in ("v1", "nacos"):
        stored = nacoscrypt.encrypt_config(
            kms, data_id=DATA_ID, group=GROUP, content=text, key_id="alias/bench", format=fmt
        )
        got = nacoscrypt.decrypt_config(
            kms,
            data_id=DATA_ID,
            group=GROUP,
            content=stored.content,
            encrypted_data_key=stored.encrypted_data_key,
        )
        assert got == text
        encrypt = peer.encrypt_v1 if fmt == "v1" else peer.encrypt_nacos
        decrypt = peer.decrypt_v1 if fmt == "v1" else peer.decrypt_nacos
        p_content, p_edk = encrypt(text)
        assert decrypt(p_content, p_edk) == text

        results[f"py_config_encrypt_{fmt}/nacoscrypt"] = per_call(
            lambda: nacoscrypt.encrypt_config(
                kms, data_id=DATA_ID, group=GROUP, content=text, key_id="alias/bench", format=fmt
            )
        )
        results[f"py_config_encrypt_{fmt}/cryptography"] = per_call(lambda: encrypt(text))
        results[f"py_config_decrypt_{fmt}/nacoscrypt"] = per_call(
            lambda: nacoscrypt.decrypt_config(
                kms,
                data_id=DATA_ID,
                group=GROUP,
                content=stored.content,
                encrypted_data_key=stored.encrypted_data_key,
            )
        )
        results[f"py_config_decrypt_{fmt}/cryptography"] = per_call(
            lambda: decrypt(p_content, p_edk)
        )


def main() -> None:
    results: dict[str, float] = {}
    tokens(results)
    configs(results)
    json.dump(results, sys.stdout)
    print()


if __name__ == "__main__":
    main()
