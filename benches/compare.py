#!/usr/bin/env python3
"""Runs the benchmarks of libnacoscrypt beside its peers and prints one table.

- the criterion suites (`cargo bench -p nacoscrypt-benches`: tokens, config, the C ABI), read
  back from <target>/criterion/**/new/estimates.json (median of each benchmark);
- `cargo bench --bench ffi_paired`: the C ABI's cost over the core's verify, in interleaved pairs;
- the Python binding against PyJWT and `cryptography` (benches/py_bench.py, run with the
  interpreter of build/venv-py; created by scripts/test-python.sh when missing).

Every ratio compares two measurements of the same run on the same machine. Usage:

    python3 benches/compare.py [--quick] [--skip-rust] [--skip-python] [--rebuild-python]
                               [--markdown FILE]

Standard library only (for this script itself).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import pathlib
import shlex
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
VENV_PY = ROOT / "build" / "venv-py" / "bin" / "python"
SIZES = [64, 1024, 6144, 51200]
KIB = {64: "64 B", 1024: "1 KiB", 6144: "6 KiB", 51200: "50 KiB"}


def target_dir() -> pathlib.Path:
    if os.environ.get("CARGO_TARGET_DIR"):
        return pathlib.Path(os.environ["CARGO_TARGET_DIR"])
    meta = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )
    return pathlib.Path(json.loads(meta.stdout)["target_directory"])


def machine() -> str:
    """One line about the machine: CPU model, logical CPUs, load average, rustc."""
    model = "unknown CPU"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{model}, {os.cpu_count()} logical CPUs, load average {load}, {rustc}"


def run_rust(quick: bool) -> None:
    cmd = ["cargo", "bench", "--locked", "-p", "nacoscrypt-benches", "--bench", "tokens",
           "--bench", "config", "--"]
    if quick:
        cmd += ["--warm-up-time", "0.5", "--measurement-time", "1"]
    print("==", " ".join(cmd), file=sys.stderr, flush=True)
    subprocess.run(cmd, cwd=ROOT, check=True, stdout=sys.stderr)


def run_paired() -> dict[str, float]:
    """The C ABI's cost over the core's verify, measured in interleaved pairs
    (benches/benches/ffi_paired.rs): one JSON line on stdout."""
    cmd = ["cargo", "bench", "--locked", "-p", "nacoscrypt-benches", "--bench", "ffi_paired"]
    print("==", " ".join(cmd), file=sys.stderr, flush=True)
    out = subprocess.run(cmd, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    line = next(l for l in out.splitlines() if l.startswith('{"ffi_paired/'))
    return json.loads(line)


def run_kms(quick: bool) -> dict[str, float]:
    """The key-service rows: starts the loopback test servers (Alibaba Cloud KMS, the KMS
    instance API, AWS KMS on moto) and a SoftHSM2 token, runs the `kms` criterion bench against
    them and the official Python SDKs / boto3 beside it, in one run."""
    def venv(script: str) -> str:
        return subprocess.run(["bash", script], cwd=ROOT, check=True, capture_output=True,
                              text=True).stdout.strip().splitlines()[-1]

    env_py = venv("scripts/aliyun-test-env.sh")
    dkms_py = venv("scripts/aliyun-instance-test-env.sh")
    aws_py = venv("scripts/aws-test-env.sh")
    with tempfile.TemporaryDirectory() as d, tempfile.TemporaryDirectory() as d2, \
            tempfile.TemporaryDirectory() as d3, tempfile.TemporaryDirectory() as hsm:
        token = softhsm_token(hsm)
        servers = {
            name: subprocess.Popen(
                [py, script, "--dir", folder], cwd=ROOT, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            for name, py, script, folder in (
                ("aliyun", env_py, "kms/aliyun/tests/server/aliyun_test_server.py", d),
                ("instance", dkms_py, "kms/aliyun/tests/server/instance_test_server.py", d2),
                ("aws", aws_py, "kms/aws/tests/server/aws_test_server.py", d3))
        }
        try:
            ready = {name: p.stdout.readline().strip() for name, p in servers.items()}
            cmd = ["cargo", "bench", "--locked", "-p", "nacoscrypt-benches", "--bench", "kms",
                   "--"]
            if quick:
                cmd += ["--warm-up-time", "0.5", "--measurement-time", "1"]
            print("==", " ".join(cmd), file=sys.stderr, flush=True)
            subprocess.run(cmd, cwd=ROOT, check=True, stdout=sys.stderr,
                           env={**os.environ, "NACOSCRYPT_BENCH_ALIYUN": ready["aliyun"],
                                "NACOSCRYPT_BENCH_ALIYUN_INSTANCE": ready["instance"],
                                "NACOSCRYPT_BENCH_AWS": ready["aws"],
                                "NACOSCRYPT_BENCH_PKCS11": json.dumps(token),
                                "SOFTHSM2_CONF": token["conf"]})
            print("== official Python SDKs and boto3 against the same servers", file=sys.stderr,
                  flush=True)
            out: dict[str, float] = {}
            for py, script, line in ((env_py, "kms_py_bench.py", ready["aliyun"]),
                                     (dkms_py, "kms_instance_py_bench.py", ready["instance"]),
                                     (aws_py, "aws_py_bench.py", ready["aws"])):
                out.update(json.loads(subprocess.run(
                    [py, str(ROOT / "benches" / script), line],
                    cwd=ROOT, check=True, capture_output=True, text=True).stdout))
            return out
        finally:
            for p in servers.values():
                p.stdin.close()
                p.wait(timeout=30)


def softhsm_token(folder: str) -> dict[str, str]:
    """A SoftHSM2 token with one AES-256 key in `folder` (scripts/softhsm-token.sh, which
    installs SoftHSM2 when missing); the bench's NACOSCRYPT_BENCH_PKCS11 fields."""
    pin = "bench-pin-1234"
    made = subprocess.run(["bash", "scripts/softhsm-token.sh", folder, "bench", pin,
                           "nacos-bench"], cwd=ROOT, check=True, capture_output=True, text=True)
    env = {}
    for line in made.stdout.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        env[name] = shlex.split(value)[0]
    pin_file = pathlib.Path(folder) / "pin"
    pin_file.write_text(pin + "\n")
    pin_file.chmod(0o600)
    return {"module": env["NACOSCRYPT_PKCS11_MODULE"], "conf": env["SOFTHSM2_CONF"],
            "token": "bench", "pin_file": str(pin_file), "key": "nacos-bench"}


def read_criterion(since: float | None) -> dict[str, float]:
    """full_id -> median seconds; results older than `since` (a stale id) are skipped."""
    out: dict[str, float] = {}
    base = target_dir() / "criterion"
    for est in base.glob("**/new/estimates.json"):
        if since is not None and est.stat().st_mtime < since:
            continue
        bench = json.loads((est.parent / "benchmark.json").read_text())
        median = json.loads(est.read_text())["median"]["point_estimate"]
        out[bench["full_id"]] = median * 1e-9
    return out


def run_python(rebuild: bool) -> dict[str, float]:
    if not VENV_PY.exists():
        print("== build/venv-py missing: bash scripts/test-python.sh", file=sys.stderr)
        subprocess.run(["bash", "scripts/test-python.sh"], cwd=ROOT, check=True,
                       stdout=sys.stderr)
    elif rebuild:
        print("== pip install ./python (release build of the binding)", file=sys.stderr)
        subprocess.run([str(VENV_PY), "-m", "pip", "install", "--quiet",
                        "--disable-pip-version-check", "./python"],
                       cwd=ROOT, check=True, stdout=sys.stderr)
    print("== python benches/py_bench.py", file=sys.stderr, flush=True)
    res = subprocess.run([str(VENV_PY), str(ROOT / "benches" / "py_bench.py")],
                         cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(res.stdout)


def fmt_time(s: float | None) -> str:
    if s is None:
        return "—"
    if s < 1e-6:
        return f"{s * 1e9:.0f} ns"
    if s < 1e-3:
        return f"{s * 1e6:.2f} µs"
    return f"{s * 1e3:.2f} ms"


class Table:
    def __init__(self, r: dict[str, float]) -> None:
        self.r = r
        self.rows: list[list[str]] = []
        self.verdicts: list[tuple[str, bool]] = []

    def add(self, op: str, size: str, ours_id: str, peer: str | None, peer_id: str | None,
            target: str = "", check=None) -> None:
        ours = self.r.get(ours_id)
        theirs = self.r.get(peer_id) if peer_id else None
        ratio = ""
        verdict = ""
        if ours is not None and theirs is not None:
            q = ours / theirs
            ratio = f"{q:.2f}×" if q >= 0.1 else f"{q:.3f}×"
            if q < 1:
                ratio += f" ({1 / q:.1f}× faster)"
        if check is not None and ours is not None and (theirs is not None or peer_id is None):
            ok = check(ours, theirs)
            verdict = "pass" if ok else "MISS"
            self.verdicts.append((f"{op} {size} vs {peer}", ok))
        elif target:
            verdict = "n/a"
        self.rows.append([op, size, fmt_time(ours), peer or "—", fmt_time(theirs), ratio,
                          target, verdict])

    def overhead(self, op: str, ours_id: str, base_id: str, peer: str, limit_ns: float) -> None:
        ours, base = self.r.get(ours_id), self.r.get(base_id)
        diff = ""
        verdict = "n/a"
        if ours is not None and base is not None:
            d = (ours - base) * 1e9
            diff = f"{d:+.0f} ns"
            ok = d < limit_ns
            verdict = "pass" if ok else "MISS"
            self.verdicts.append((f"{op} overhead", ok))
        self.rows.append([op, "", fmt_time(ours), peer, fmt_time(base), diff,
                          f"< {limit_ns:.0f} ns over", verdict])

    def paired(self, op: str, diff_id: str, peer: str, limit_ns: float) -> None:
        """A difference measured in pairs (ffi_paired): its median over the rounds, with the
        first and third quartiles."""
        d, low, high = (self.r.get(diff_id + suffix) for suffix in ("", "_q1", "_q3"))
        verdict, shown, spread = "n/a", "—", ""
        if d is not None:
            ok = d * 1e9 < limit_ns
            verdict = "pass" if ok else "MISS"
            self.verdicts.append((f"{op} (paired)", ok))
            shown = f"{d * 1e9:+.0f} ns"
            if low is not None and high is not None:
                spread = f" (quartiles {low * 1e9:+.0f} … {high * 1e9:+.0f})"
        self.rows.append([op, "", "—", peer, fmt_time(self.r.get("ffi_paired/core")),
                          shown + spread, f"< {limit_ns:.0f} ns over", verdict])

    def markdown(self) -> str:
        head = ["operation", "size", "this project", "peer", "peer time", "ours ÷ peer",
                "target", "result"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines)

    def text(self) -> str:
        head = ["operation", "size", "this project", "peer", "peer time", "ours ÷ peer",
                "target", "result"]
        rows = [head] + self.rows
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()
                         for r in rows)


def within(limit: float):
    return lambda ours, peer: ours / peer <= limit


def faster(times: float):
    return lambda ours, peer: peer / ours >= times


def build_table(r: dict[str, float]) -> Table:
    t = Table(r)
    # ----- tokens (Rust) -----
    for alg in ("HS256", "HS384", "HS512"):
        for op in ("sign", "verify"):
            g = f"token_{op}_{alg}"
            name = f"token {op} {alg}"
            if alg == "HS256":
                t.add(name, "", f"{g}/nacoscrypt", "pre-keyed HMAC (RustCrypto)",
                      f"{g}/hmac_prekeyed", "≤ 1.5×", within(1.5))
                t.add(name, "", f"{g}/nacoscrypt", "jsonwebtoken", f"{g}/jsonwebtoken")
            else:
                t.add(name, "", f"{g}/nacoscrypt", "pre-keyed HMAC (RustCrypto)",
                      f"{g}/hmac_prekeyed")
    t.add("token verify, 2 keys (previous key)", "", "token_verify_rotation/nacoscrypt",
          None, None)
    t.add("token cache login hit", "", "token_cache_login_hit/nacoscrypt", None, None)
    t.overhead("token verify HS256 via C ABI (subject out + string_free)",
               "token_verify_HS256/nacoscrypt_ffi", "token_verify_HS256/nacoscrypt",
               "core TokenManager::verify", 50)
    t.overhead("token verify HS256 via C ABI (NULL outputs)",
               "token_verify_HS256/nacoscrypt_ffi_null_outputs",
               "token_verify_HS256/nacoscrypt", "core TokenManager::verify", 50)
    # The same two differences measured in interleaved pairs: drift between benchmarks cancels.
    t.paired("token verify HS256 via C ABI (NULL outputs), paired",
             "ffi_paired/null_outputs_over_core", "core verify, same rounds", 50)
    t.paired("token verify HS256 via C ABI (subject out + string_free), paired",
             "ffi_paired/subject_over_core", "core verify, same rounds", 50)
    # Threads: one shared handle, the same number of calls split over 1 or 2 threads.
    for op, name in (("verify", "token verify HS256 via C ABI"),
                     ("cache_login_hit", "token cache login hit via C ABI")):
        t.add(f"{name}, 2 threads (one shared handle)", "", f"threads_ffi/{op}_2t",
              "the same calls on 1 thread", f"threads_ffi/{op}_1t", "≥ 1.8× faster",
              faster(1.8))
    # ----- configs (Rust) -----
    for fmt in ("v1", "nacos"):
        for op in ("encrypt", "decrypt"):
            g = f"config_{op}_{fmt}"
            for size in SIZES:
                s = KIB[size]
                ours = f"{g}/nacoscrypt_key_given/{size}"
                last = size == SIZES[-1]
                if fmt == "v1":
                    # 64 B encrypt: the nonce is drawn from the OS and the peer's is a constant.
                    small = op == "encrypt" and size == SIZES[0]
                    limit = 1.25 if last else 2.0 if small else None
                    t.add(f"config {op} v1, key given", s, ours, "ring AES-GCM + base64-simd",
                          f"{g}/ring_b64simd/{size}", f"≤ {limit}×" if limit else "",
                          within(limit) if limit else None)
                    t.add(f"config {op} v1, key given", s, ours, "aes-gcm + base64",
                          f"{g}/aesgcm_base64/{size}")
                else:
                    t.add(f"config {op} nacos, key given", s, ours,
                          "aes ECB (pipelined) + base64-simd", f"{g}/ecb_b64simd/{size}",
                          "≤ 1.25×" if last else "", within(1.25) if last else None)
                if fmt == "v1" and op == "encrypt" and size == SIZES[0]:
                    t.add("config encrypt v1, local keyring", s, f"{g}/nacoscrypt_keyring/{size}",
                          "the same envelope with ring (key + nonces from the OS)",
                          f"{g}/ring_envelope_os/{size}", "≤ 1.5×", within(1.5))
                else:
                    t.add(f"config {op} {fmt}, local keyring", s,
                          f"{g}/nacoscrypt_keyring/{size}", None, None)
    # ----- key services (against the loopback test KMS, in one run) -----
    g = "kms_decrypt_data_key"
    t.add("KMS decrypt, Alibaba Cloud OpenAPI", "", f"{g}/aliyun_openapi",
          "bare keep-alive HTTPS request (floor)", f"{g}/bare_https_keepalive")
    t.add("KMS decrypt, Alibaba Cloud OpenAPI", "", f"{g}/aliyun_openapi",
          "official Python SDK", f"{g}/official_python_sdk")
    t.add("KMS decrypt, KMS 3.0 instance (ClientKey)", "", f"{g}/aliyun_instance",
          "official transfer client (Python)", f"{g}/official_transfer_client")
    t.add("KMS decrypt, cache hit", "", f"{g}/aliyun_cache_hit", "local keyring decrypt",
          f"{g}/local_keyring")
    t.add("KMS decrypt, AWS KMS (moto)", "", f"{g}/aws_kms",
          "bare keep-alive HTTPS request (floor)", f"{g}/aws_bare_https_keepalive")
    t.add("KMS decrypt, AWS KMS (moto)", "", f"{g}/aws_kms", "boto3", f"{g}/boto3")
    t.add("KMS decrypt, PKCS#11 (SoftHSM2)", "", f"{g}/pkcs11",
          "one bare C_Decrypt (floor)", f"{g}/pkcs11_bare_c_decrypt")
    # ----- Python -----
    t.add("Python token verify HS256", "", "py_token_verify/nacoscrypt", "PyJWT decode",
          "py_token_verify/pyjwt", "≥ 30× faster", faster(30))
    # What the binding adds to the core's verify (criterion, same run): the argument, the clock
    # read of `verify(token)` without `now`, the Claims object.
    t.add("Python token verify HS256", "", "py_token_verify/nacoscrypt",
          "core TokenManager::verify", "token_verify_HS256/nacoscrypt", "≤ 1.6×", within(1.6))
    # With the keyword `now=`: CPython 3.9's stable ABI has no vectorcall for extension methods,
    # so the interpreter builds a dict of the keywords for each call (shown, no target).
    t.add("Python token verify HS256, now= given", "", "py_token_verify_now/nacoscrypt",
          "core TokenManager::verify", "token_verify_HS256/nacoscrypt")
    t.add("Python token sign HS256 (issue)", "", "py_token_sign/nacoscrypt", "PyJWT encode",
          "py_token_sign/pyjwt", "≥ 20× faster", faster(20))
    for fmt, peer in (("v1", "cryptography AESGCM + base64"),
                      ("nacos", "cryptography AES-ECB + PKCS7 + base64")):
        for op in ("encrypt", "decrypt"):
            t.add(f"Python {op}_config {fmt} (local keyring)", "50 KiB",
                  f"py_config_{op}_{fmt}/nacoscrypt", peer,
                  f"py_config_{op}_{fmt}/cryptography", "≥ 3× faster", faster(3))
    return t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="short criterion measurements")
    ap.add_argument("--skip-rust", action="store_true",
                    help="do not run cargo bench; read the last criterion results")
    ap.add_argument("--skip-python", action="store_true")
    ap.add_argument("--skip-kms", action="store_true",
                    help="no key-service rows (they start the loopback test KMS)")
    ap.add_argument("--rebuild-python", action="store_true",
                    help="pip install ./python into build/venv-py first")
    ap.add_argument("--markdown", type=pathlib.Path, help="also write the table as Markdown")
    args = ap.parse_args()

    started = time.time()
    before = machine()
    if not args.skip_rust:
        run_rust(args.quick)
    paired = {} if args.skip_rust else run_paired()
    kms = {} if args.skip_rust or args.skip_kms else run_kms(args.quick)
    results = read_criterion(None if args.skip_rust else started - 1)
    results.update(paired)
    results.update(kms)
    if not args.skip_python:
        results.update(run_python(args.rebuild_python))
    table = build_table(results)
    print(f"machine at start: {before}")
    print(f"machine at end:   {machine()}\n")
    print(table.text())
    missed = [name for name, ok in table.verdicts if not ok]
    print(f"\n{len(table.verdicts) - len(missed)} of {len(table.verdicts)} targets met"
          + (": missed " + "; ".join(missed) if missed else ""))
    if args.markdown:
        args.markdown.write_text(table.markdown() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
