"""A pre-forking server (gunicorn, uWSGI, multiprocessing with fork): after the library has drawn
randomness in the parent, the parent forks; parent and child never produce the same ``v1`` nonce
or data key (the per-thread buffer of OS randomness is wiped by the kernel in the child)."""

from __future__ import annotations

import base64
import os
from typing import List, Set, Tuple

import pytest

from nacoscrypt import LocalKms, encrypt_config

KEYRING = (
    "key alias/fork 11111111-1111-1111-1111-111111111111 "
    "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n"
)
ROUNDS = 200


def draw(kms: LocalKms) -> Tuple[List[bytes], List[bytes]]:
    """The v1 nonces of ROUNDS envelopes and ROUNDS fresh data keys."""
    nonces, keys = [], []
    for _ in range(ROUNDS):
        sealed = encrypt_config(
            kms,
            data_id="cipher-kms-aes-256-db.properties",
            group="DEFAULT_GROUP",
            content="password=s3cret",
            key_id="alias/fork",
            format="v1",
        )
        content = sealed.content
        assert content.startswith("nc1:")
        nonces.append(base64.b64decode(content[4:])[:12])
        key, _blob = kms.generate_data_key("alias/fork", "AES_256")
        keys.append(key)
    return nonces, keys


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_parent_and_child_never_share_a_nonce_or_a_data_key() -> None:
    kms = LocalKms.from_string(KEYRING)
    warm_nonces, warm_keys = draw(kms)  # the buffer is warm and partly used
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: draw, report, leave without running pytest's teardown
        code = 1
        try:
            os.close(read_end)
            nonces, keys = draw(kms)
            data = b"".join(nonces) + b"".join(keys)
            with os.fdopen(write_end, "wb") as out:
                out.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    parent_nonces, parent_keys = draw(kms)
    with os.fdopen(read_end, "rb") as inp:
        data = inp.read()
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert len(data) == ROUNDS * (12 + 32)
    child_nonces = {data[i : i + 12] for i in range(0, ROUNDS * 12, 12)}
    keys_at = ROUNDS * 12
    child_keys = {data[keys_at + i : keys_at + i + 32] for i in range(0, ROUNDS * 32, 32)}
    assert len(child_nonces) == ROUNDS and len(child_keys) == ROUNDS
    seen_nonces: Set[bytes] = set(warm_nonces) | set(parent_nonces)
    seen_keys: Set[bytes] = set(warm_keys) | set(parent_keys)
    assert len(seen_nonces) == 2 * ROUNDS and len(seen_keys) == 2 * ROUNDS
    assert not child_nonces & seen_nonces, "parent and child share a nonce"
    assert not child_keys & seen_keys, "parent and child share a data key"
