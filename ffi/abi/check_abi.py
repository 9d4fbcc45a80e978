#!/usr/bin/env python3
"""Checks that a new nacoscrypt.h keeps the C ABI of an older one (a released header).

    check_abi.py OLD_HEADER NEW_HEADER [--lib LIBRARY]   # exit 0: compatible
    check_abi.py --self-test NEW_HEADER                  # the checker catches each kind of break

What the old header promised must still hold, checked by the C compiler, not by comparing text:
- every constant (enum value, #define) keeps its value: a renumbered result is a break;
- every struct keeps its size and every field its offset (fields may not move, shrink or go);
- every function and callback type keeps its prototype: the old declaration, turned into a
  function pointer, must accept the new function without a conversion (gcc -Werror);
- with --lib, the library exports every function of the old header (the probe links against it).
Additions are free. The values of the old header are measured by compiling a program against it,
so the baseline is whatever a C compiler made of the released header.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

CC = os.environ.get("CC", "gcc")
STRICT = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic"]


@dataclass
class Api:
    constants: List[str] = field(default_factory=list)
    structs: Dict[str, List[str]] = field(default_factory=dict)
    functions: Dict[str, str] = field(default_factory=dict)  # name -> declaration
    callbacks: Dict[str, str] = field(default_factory=dict)  # name -> typedef


def run(cmd: List[str], cwd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)


def top_level(text: str) -> List[str]:
    """Splits preprocessed C into its top-level declarations (at brace depth 0)."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == ";" and depth == 0:
            out.append(" ".join(text[start:i].split()))
            start = i + 1
    return out


def parse(header: str, work: str) -> Api:
    raw = open(header, encoding="utf-8").read()
    api = Api()
    for name in re.findall(r"^#define\s+(NACOSCRYPT_\w+)\s+\S", raw, re.M):
        if name != "NACOSCRYPT_H":
            api.constants.append(name)
    # The C the compiler sees (C99, no test-only declarations): comments and #ifs resolved.
    probe = os.path.join(work, "pp.c")
    with open(probe, "w") as f:
        f.write(f'#include "{os.path.abspath(header)}"\n')
    pp = run([CC, "-std=c99", "-E", "-P", probe], work)
    if pp.returncode:
        raise SystemExit(f"{header} does not preprocess:\n{pp.stderr}")
    for decl in top_level(pp.stdout):
        if "nacoscrypt" not in decl:
            continue
        enum = re.search(r"\benum\s+\w*\s*\{(.*)\}", decl)
        if enum:
            for item in enum.group(1).split(","):
                m = re.match(r"\s*(NACOSCRYPT_\w+)", item)
                if m:
                    api.constants.append(m.group(1))
            continue
        struct = re.search(r"\bstruct\s+(nacoscrypt_\w+)\s*\{(.*)\}", decl)
        if struct:
            fields = []
            for member in top_level(struct.group(2) + ";"):
                if not member:
                    continue
                fp = re.search(r"\(\s*\*\s*(\w+)\s*\)", member)
                m = fp or re.search(r"(\w+)\s*(\[[^\]]*\])?\s*$", member)
                if m:
                    fields.append(m.group(1))
            api.structs[struct.group(1)] = fields
            continue
        callback = re.match(r"typedef\s+.*\(\s*\*\s*(nacoscrypt_\w+)\s*\)\s*\(", decl)
        if callback:
            api.callbacks[callback.group(1)] = decl
            continue
        if decl.startswith("typedef"):
            continue
        fn = re.search(r"\b(nacoscrypt_\w+)\s*\(", decl)
        if fn:
            api.functions[fn.group(1)] = decl
    return api


def measure(header: str, api: Api, work: str) -> Dict[str, int]:
    """Values, sizes and offsets as a C compiler lays out the old header."""
    lines = ["#include <stddef.h>", "#include <stdio.h>", f'#include "{os.path.abspath(header)}"',
             "int main(void) {"]
    for name in api.constants:
        lines.append(f'  printf("{name} %lld\\n", (long long)({name}));')
    for name, fields in api.structs.items():
        lines.append(f'  printf("sizeof:{name} %zu\\n", sizeof(struct {name}));')
        for f in fields:
            lines.append(f'  printf("offsetof:{name}.{f} %zu\\n", offsetof(struct {name}, {f}));')
    lines += ["  return 0;", "}"]
    src, exe = os.path.join(work, "measure.c"), os.path.join(work, "measure")
    with open(src, "w") as f:
        f.write("\n".join(lines) + "\n")
    built = run([CC, *STRICT, src, "-o", exe], work)
    if built.returncode:
        raise SystemExit(f"the old header does not compile:\n{built.stderr}")
    out = run([exe], work)
    return {k: int(v) for k, v in (line.split() for line in out.stdout.splitlines())}


def probe_source(new_header: str, api: Api, values: Dict[str, int]) -> str:
    lines = ["#include <stddef.h>", f'#include "{os.path.abspath(new_header)}"', ""]
    for name in api.constants:
        lines.append(f'_Static_assert((long long)({name}) == {values[name]}LL, '
                     f'"ABI break: {name} changed its value (was {values[name]})");')
    for name, fields in api.structs.items():
        size = values[f"sizeof:{name}"]
        lines.append(f'_Static_assert(sizeof(struct {name}) == {size}, '
                     f'"ABI break: struct {name} changed its size (was {size})");')
        for f in fields:
            off = values[f"offsetof:{name}.{f}"]
            lines.append(f'_Static_assert(offsetof(struct {name}, {f}) == {off}, '
                         f'"ABI break: struct {name} moved field {f} (was at {off})");')
    for name, decl in api.callbacks.items():
        old = decl.replace(name, f"abi_old_{name}", 1)
        lines += [f"{old};", f"void abi_check_{name}(abi_old_{name} old);",
                  f"void abi_check_{name}(abi_old_{name} old) {{ {name} new_ = old; (void)new_; }}"]
    for name, decl in api.functions.items():
        pointer = re.sub(rf"\b{name}\s*\(", f"(*const abi_old_{name})(", decl, count=1)
        lines.append(f"{pointer} = {name};")
    lines.append("int main(void) {")
    lines.append("  const void *volatile keep[] = {0")
    for name in api.functions:
        lines.append(f"    , (const void *)&abi_old_{name}")
    lines += ["  };", "  return keep[0] != 0;", "}"]
    return "\n".join(lines) + "\n"


def check(old: str, new: str, lib: Optional[str] = None) -> Tuple[bool, str]:
    work = tempfile.mkdtemp(prefix="nacoscrypt-abi-")
    try:
        api = parse(old, work)
        values = measure(old, api, work)
        src = os.path.join(work, "probe.c")
        with open(src, "w") as f:
            f.write(probe_source(new, api, values))
        cmd = [CC, *STRICT, "-Werror=incompatible-pointer-types", src]
        cmd += ["-o", os.path.join(work, "probe"), lib, "-lpthread", "-ldl", "-lm"] if lib else ["-c", "-o", os.path.join(work, "probe.o")]
        result = run(cmd, work)
        summary = (f"{len(api.constants)} constants, {len(api.structs)} structs, "
                   f"{len(api.functions)} functions, {len(api.callbacks)} callback types")
        if result.returncode:
            errors = [line for line in result.stderr.splitlines() if "error" in line or "undefined" in line]
            return False, f"C ABI broken against {old} ({summary}):\n" + "\n".join(errors[:40])
        return True, f"C ABI kept: {summary} of {os.path.basename(old)}" + (f", all exported by {lib}" if lib else "")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def self_test(header: str) -> None:
    """Each kind of break must fail, and the header must pass against itself."""
    text = open(header, encoding="utf-8").read()
    breaks = {
        "a renumbered result": ("NACOSCRYPT_RESULT_NULL_POINTER = 1001", "NACOSCRYPT_RESULT_NULL_POINTER = 1099"),
        "swapped struct fields": ("  const char *data_id;\n", None),
        "a changed parameter": ("nacoscrypt_result nacoscrypt_config_decrypt(const struct nacoscrypt_kms *kms,",
                                "nacoscrypt_result nacoscrypt_config_decrypt(struct nacoscrypt_kms *kms,"),
        "a removed function": ("nacoscrypt_result nacoscrypt_config_decrypt(", "nacoscrypt_result nacoscrypt_config_decrypt_gone("),
        "a changed #define": ("#define NACOSCRYPT_FORMAT_V1 1", "#define NACOSCRYPT_FORMAT_V1 2"),
    }
    ok, message = check(header, header)
    assert ok, message
    work = tempfile.mkdtemp(prefix="nacoscrypt-abi-self-")
    try:
        for what, (old, new) in breaks.items():
            assert old in text, f"self-test: {old!r} is not in the header any more; update the self-test"
            if new is None:  # move data_id after group in nacoscrypt_config_id
                broken = text.replace(old, "", 1).replace("  const char *group;\n", "  const char *group;\n" + old, 1)
            else:
                broken = text.replace(old, new, 1)
            path = os.path.join(work, "nacoscrypt.h")
            with open(path, "w", encoding="utf-8") as f:
                f.write(broken)
            ok, message = check(header, path)
            assert not ok, f"self-test: {what} was not caught"
            assert "ABI break" in message or "error" in message, message
            print(f"self-test: {what} is caught")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: List[str]) -> int:
    if len(argv) == 2 and argv[0] == "--self-test":
        self_test(argv[1])
        return 0
    lib = None
    if "--lib" in argv:
        i = argv.index("--lib")
        lib = os.path.abspath(argv[i + 1])
        argv = argv[:i] + argv[i + 2:]
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    ok, message = check(argv[0], argv[1], lib)
    print(message, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
