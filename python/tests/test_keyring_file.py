"""A LocalKms from a file follows the file (issue 11): versions added by other processes
decrypt, rotations are locked, odd file types are refused at once."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import List

import pytest

from nacoscrypt import FileError, LocalKms, decrypt_config, encrypt_config

KEY = "alias/app"
DATA_ID = "cipher-kms-aes-256-db.properties"

# Another process: rotate the keyring, then encrypt a config with the new version.
ROTATE_AND_ENCRYPT = """
import sys
from nacoscrypt import LocalKms, encrypt_config
kms = LocalKms.from_file(sys.argv[1])
kms.rotate("alias/app")
stored = encrypt_config(kms, data_id=sys.argv[2], group="g", tenant="", content="pw=1",
                        key_id="alias/app", format="v1")
print(stored.content, stored.encrypted_data_key)
"""

ROTATE_N = """
import sys
from nacoscrypt import LocalKms
kms = LocalKms.from_file(sys.argv[1])
for _ in range(int(sys.argv[2])):
    kms.rotate("alias/app")
"""


def test_a_long_running_kms_decrypts_a_version_another_process_added(tmp_path: Path) -> None:
    path = tmp_path / "keyring"
    service = LocalKms.create(path, KEY)
    before = service.versions(KEY)
    out = subprocess.run(
        [sys.executable, "-c", ROTATE_AND_ENCRYPT, str(path), DATA_ID],
        check=True, capture_output=True, text=True,
    ).stdout.split()
    content, edk = out
    plain = decrypt_config(
        service, data_id=DATA_ID, group="g", tenant="", content=content, encrypted_data_key=edk
    )
    assert plain == "pw=1"
    assert len(service.versions(KEY)) == len(before) + 1


def test_concurrent_rotations_from_processes_and_threads_all_land(tmp_path: Path) -> None:
    path = tmp_path / "keyring"
    LocalKms.create(path, KEY)
    procs = [
        subprocess.Popen([sys.executable, "-c", ROTATE_N, str(path), "15"]) for _ in range(3)
    ]
    local = LocalKms.from_file(path)
    threads = [
        threading.Thread(target=lambda: [local.rotate(KEY) for _ in range(10)]) for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p in procs:
        assert p.wait() == 0
    assert len(LocalKms.from_file(path).versions(KEY)) == 1 + 3 * 15 + 2 * 10


def test_reload_reports_a_change(tmp_path: Path) -> None:
    path = tmp_path / "keyring"
    service = LocalKms.create(path, KEY)
    other = LocalKms.from_file(path)
    new = other.rotate(KEY)
    assert service.reload() is True
    assert service.primary_version(KEY) == new
    assert service.reload() is False
    assert LocalKms.from_string("").reload() is False


def test_a_symlinked_keyring_stays_a_link(tmp_path: Path) -> None:
    real = tmp_path / "real"
    LocalKms.create(real, KEY)
    link = tmp_path / "link"
    link.symlink_to(real)
    version = LocalKms.from_file(link).rotate(KEY)
    assert link.is_symlink()
    assert LocalKms.from_file(real).primary_version(KEY) == version


def test_a_fifo_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o600)
    result: List[BaseException] = []

    def load() -> None:
        try:
            LocalKms.from_file(fifo)
        except BaseException as e:  # noqa: BLE001 (recorded for the assertion below)
            result.append(e)

    t = threading.Thread(target=load, daemon=True)
    t.start()
    t.join(10)
    assert not t.is_alive(), "LocalKms.from_file blocked on a FIFO"
    assert isinstance(result[0], FileError)
    assert "named pipe" in str(result[0])
    with pytest.raises(FileError, match="directory"):
        LocalKms.from_file(tmp_path)
    with pytest.raises(FileError, match="character device"):
        LocalKms.from_file("/dev/zero")


def test_encrypting_uses_a_new_primary_within_the_bound(tmp_path: Path) -> None:
    path = tmp_path / "keyring"
    service = LocalKms.create(path, KEY)
    new = LocalKms.from_file(path).rotate(KEY)
    time.sleep(1.1)  # the documented bound: one second
    stored = encrypt_config(
        service, data_id=DATA_ID, group="g", tenant="", content="x=1", key_id=KEY
    )
    assert base64.b64decode(stored.encrypted_data_key)[:36].decode() == new
