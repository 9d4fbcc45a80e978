"""Objects shared between threads: one manager, one cache, one keyring, one Python KMS.

Inputs of 4 KiB and more are processed with the interpreter released, so these tests also run
Rust code of several threads at once (and Python KMS callbacks re-attaching from it).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import List, Literal

import pytest

from nacoscrypt import (
    EncryptedConfig,
    LocalKms,
    SecretKey,
    TokenCache,
    TokenManager,
    decrypt_config,
    encrypt_config,
)
from support import AesGcmKms

THREADS = 8
SMALL = "password=s3cret"
LARGE = "x=" + "0123456789abcdef" * 2048  # 32 KiB: above the 4 KiB release threshold


def test_threads_share_one_manager() -> None:
    manager = TokenManager(SecretKey.generate(), previous=[SecretKey.generate()])

    def work(i: int) -> int:
        for j in range(200):
            token = manager.issue(f"user-{i}-{j}", now=1_700_000_000)
            assert manager.verify(token.token, now=1_700_000_000).sub == f"user-{i}-{j}"
        return i

    with ThreadPoolExecutor(THREADS) as pool:
        assert sorted(pool.map(work, range(THREADS))) == list(range(THREADS))


@pytest.mark.filterwarnings("ignore:TokenCache.login:DeprecationWarning")  # the deprecated alias
def test_threads_share_one_cache() -> None:
    cache = TokenCache(TokenManager(SecretKey.generate()))
    now_ms = 1_700_000_000_000

    def work(i: int) -> str:
        token = ""
        for _ in range(100):
            token = cache.login("nacos", now_ms=now_ms).token
            assert cache.verify(token, now=now_ms // 1000).sub == "nacos"
        return token

    with ThreadPoolExecutor(THREADS) as pool:
        tokens = set(pool.map(work, range(THREADS)))
    assert len(tokens) == 1, "every thread got the one cached token"
    assert (cache.login_count, cache.verified_count) == (1, 1)


def test_threads_share_one_keyring_while_it_rotates(tmp_path: Path) -> None:
    kms = LocalKms.create(tmp_path / "keyring", "alias/nacos")

    def work(i: int) -> List[EncryptedConfig]:
        stored = []
        for j in range(30):
            content = (LARGE if j % 2 else SMALL) + str(i)
            data_id = "cipher-kms-aes-256-db" if j % 3 else "cipher-kms-aes-128-db"
            fmt: Literal["nacos", "v1"] = "v1" if i % 2 else "nacos"
            enc = encrypt_config(kms, data_id=data_id, group="g", content=content,
                                 key_id="alias/nacos", format=fmt)
            assert decrypt_config(kms, data_id=data_id, group="g", content=enc.content,
                                  encrypted_data_key=enc.encrypted_data_key) == content
            stored.append(enc)
            if i == 0 and j % 10 == 0:
                kms.rotate("alias/nacos")  # rewrites the file under the readers' feet
        return stored

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(work, range(THREADS)))
    assert len(kms.versions("alias/nacos")) == 4
    # Everything written during the rotations still decrypts from the file.
    reloaded = LocalKms.from_file(tmp_path / "keyring")
    for i, stored in enumerate(results):
        for j, enc in enumerate(stored):
            data_id = "cipher-kms-aes-256-db" if j % 3 else "cipher-kms-aes-128-db"
            plain = decrypt_config(reloaded, data_id=data_id, group="g", content=enc.content,
                                   encrypted_data_key=enc.encrypted_data_key)
            assert plain == (LARGE if j % 2 else SMALL) + str(i)


def test_threads_share_one_python_kms() -> None:
    kms = AesGcmKms("alias/app")

    def work(i: int) -> int:
        for j in range(20):
            content = (LARGE if j % 2 else SMALL) + str(i)
            enc = encrypt_config(kms, data_id="cipher-kms-aes-256-x", group="g", content=content,
                                 key_id="alias/app", format="v1")
            assert decrypt_config(kms, data_id="cipher-kms-aes-256-x", group="g",
                                  content=enc.content,
                                  encrypted_data_key=enc.encrypted_data_key) == content
        return i

    with ThreadPoolExecutor(THREADS) as pool:
        assert sorted(pool.map(work, range(THREADS))) == list(range(THREADS))
    assert len(kms.calls) == THREADS * 20 * 2
