"""Soak test of a keyring file under rotation (issue 11), through the Python binding.

Usage: python soak_keyring.py SECONDS DIR

Another process rotates DIR/keyring every 50 ms ($NACOSCRYPT_SOAK_ROTATE_MS) and after each rotation publishes a config
encrypted with the new version in DIR/latest. Meanwhile 8 threads share one long-running
``LocalKms`` and mix config encrypt + decrypt (both formats, every scheme), token verify, and
decrypting the other process's newest config (a version this process has not read yet). The
main thread samples the resident set once a second. Exits non-zero on any error, or if the
resident set of the last quarter exceeds that of the first quarter by more than 4 MiB.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import List

from nacoscrypt import LocalKms, SecretKey, TokenManager, decrypt_config, encrypt_config

KEY = "alias/soak"
SOAK_DATA_ID = "cipher-kms-aes-256-soak.properties"
DATA_IDS = ["cipher-kms-aes-256-db.properties", "cipher-kms-aes-128-app.yaml", "cipher-token.json"]
NOW = 1_700_000_000

ROTATOR = f"""
import os, sys, time
from nacoscrypt import LocalKms, encrypt_config
d = sys.argv[1]
i = 0
while True:
    kms = LocalKms.from_file(os.path.join(d, "keyring"))
    kms.rotate({KEY!r})
    s = encrypt_config(kms, data_id={SOAK_DATA_ID!r}, group="DEFAULT_GROUP", tenant="soak",
                       content="rotation-%d" % i, key_id={KEY!r}, format="v1")
    tmp = os.path.join(d, "latest.tmp")
    with open(tmp, "w") as f:
        f.write(s.content + "\\n" + s.encrypted_data_key + "\\n")
    os.rename(tmp, os.path.join(d, "latest"))
    i += 1
    time.sleep(float(sys.argv[2]))
"""


def rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * (os.sysconf("SC_PAGESIZE") // 1024)


def main() -> int:
    seconds = max(4, min(3600, int(sys.argv[1])))
    directory = Path(sys.argv[2])
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "keyring"
    # A fresh start: no keyring and no config published by an earlier run.
    for stale in (path, directory / "latest"):
        if stale.exists():
            stale.unlink()
    kms = LocalKms.create(path, KEY)
    manager = TokenManager(SecretKey.generate())
    token = manager.issue("soak", now=NOW).token
    stop = threading.Event()
    counts: List[List[int]] = [[0, 0, 0] for _ in range(8)]  # ops, errors, followed
    errors_seen: List[str] = []

    def worker(index: int) -> None:
        c = counts[index]
        j = 0
        while not stop.is_set():
            try:
                manager.verify(token, now=NOW)
                c[0] += 1
                data_id = DATA_IDS[j % 3]
                plain = f"password=thread-{index}-{j}"
                stored = encrypt_config(
                    kms, data_id=data_id, group="DEFAULT_GROUP", tenant="soak", content=plain,
                    key_id=KEY, format="v1" if j & 1 else "nacos",
                )
                back = decrypt_config(
                    kms, data_id=data_id, group="DEFAULT_GROUP", tenant="soak",
                    content=stored.content, encrypted_data_key=stored.encrypted_data_key,
                )
                if back != plain:
                    raise AssertionError("round trip changed the config")
                c[0] += 2
                if j % 64 == 0:
                    try:
                        content, edk = (directory / "latest").read_text().split("\n")[:2]
                    except (FileNotFoundError, ValueError):
                        content = ""
                    if content:
                        latest = decrypt_config(
                            kms, data_id=SOAK_DATA_ID, group="DEFAULT_GROUP", tenant="soak",
                            content=content, encrypted_data_key=edk,
                        )
                        if not latest.startswith("rotation-"):
                            raise AssertionError("unexpected latest config")
                        c[0] += 1
                        c[2] += 1
            except Exception as e:  # noqa: BLE001 (counted and reported)
                c[1] += 1
                if len(errors_seen) < 5:
                    errors_seen.append(f"thread {index}: {type(e).__name__}: {e}")
            j += 1

    # Rotation pace: $NACOSCRYPT_SOAK_ROTATE_MS (default 50 ms); a slower pace keeps the keyring
    # small, so that the resident set measures the library rather than the keyring's growth.
    pause = int(os.environ.get("NACOSCRYPT_SOAK_ROTATE_MS", "50")) / 1000
    rotator = subprocess.Popen([sys.executable, "-c", ROTATOR, str(directory), str(pause)])
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    samples: List[int] = []
    early_exit = False
    for _ in range(seconds):
        time.sleep(1)
        samples.append(rss_kib())
        if rotator.poll() is not None:
            early_exit = True
            break
    stop.set()
    for t in threads:
        t.join()
    rotator.kill()
    rotator.wait()
    LocalKms.from_file(path)  # killed at any point, the rotating process left a loadable file

    ops = sum(c[0] for c in counts)
    errors = sum(c[1] for c in counts) + (1 if early_exit else 0)
    followed = sum(c[2] for c in counts)
    quarter = max(1, len(samples) // 4)
    first = sum(samples[:quarter]) // quarter
    last = sum(samples[-quarter:]) // quarter
    print(
        f"soak (Python): 8 threads, {len(samples)} s: {ops} operations "
        f"({ops // max(1, len(samples))}/s), {followed} decrypts of the rotating process's "
        f"newest config, {errors} errors; resident set {first} KiB in the first quarter, "
        f"{last} KiB in the last"
    )
    for line in errors_seen:
        print(line, file=sys.stderr)
    if early_exit:
        print("the rotating process exited early", file=sys.stderr)
    if errors or followed == 0:
        return 1
    if last - first > 4096:
        print(f"resident set grew by {last - first} KiB: a leak", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
