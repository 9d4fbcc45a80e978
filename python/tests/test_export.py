"""read_export and write_export (issue 16, SPEC 6): console export ZIPs made by Python's zipfile
as a stream (DEFLATE, data descriptors and zero sizes in the local headers, as Java's
ZipOutputStream writes them), metadata as SnakeYAML and the v1 exporter write it; what
write_export writes is read by zipfile and parsed by PyYAML; configs encrypted and migrated
through the bindings keep their keys across the ZIP."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any, Dict, List, Tuple

import pytest
import yaml

from nacoscrypt import (
    InvalidArgument,
    LocalKms,
    decrypt_config,
    encrypt_config,
    migrate_config,
    read_export,
    write_export,
)

OLD = "key alias/old 11111111-1111-1111-1111-111111111111 AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n"
NEW = "key alias/new 22222222-2222-2222-2222-222222222222 AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=\n"

# Strings SnakeYAML has to quote or escape, and that a naive YAML writer gets wrong.
ODD = [
    "a: b", "#hash", "x #y", "it's", '"dq"', " lead", "trail ", "中文描述", "123", "0x1F", "1e3",
    "true", "No", "~", "null", "- dash", "? q", "[x]", "{y}", "a,b", "%p", "@a", "`b", "!t", "&a",
    "*b", "|", ">", "<<", "=", "two\nlines", "tab\there", "\x85nel", "\ufeffbom", "ctl\x01", "😀",
    "back\\slash", "crlf\r\n", "trailing\n", "...", "---", "a\u2028b",
]
# NEL, LS and PS written raw inside quotes are YAML 1.1 line breaks, which the reader does not
# take (PyYAML itself reads a raw NEL back as a space); the writer escapes them.
RAW_BREAKS = "\x85\u2028\u2029"
ODD_IN = [s for s in ODD if not any(c in s for c in RAW_BREAKS)]


class _Stream(io.RawIOBase):
    def __init__(self) -> None:
        self.b = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, d: Any) -> int:
        self.b += bytes(d)
        return len(d)


def java_like_zip(files: List[Tuple[str, str]]) -> bytes:
    s = _Stream()
    with zipfile.ZipFile(s, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files:
            z.writestr(name, text.encode("utf-8"))
    data = bytes(s.b)
    assert data[6] & 8 and data[18:26] == bytes(8)  # data descriptor, sizes zero
    return data


def snakeyaml(items: List[Dict[str, str]]) -> str:
    """What SnakeYAML's dumpAsMap writes for the metadata (block style, sorted keys), made
    here by PyYAML with the same options."""
    return yaml.safe_dump({"metadata": items}, default_flow_style=False, allow_unicode=True, sort_keys=True)


def test_a_snakeyaml_style_export_with_odd_strings_reads_and_round_trips() -> None:
    items = []
    files = []
    for i, odd in enumerate(ODD_IN):
        data_id = f"cipher-kms-aes-256-cfg{i}.yaml"
        items.append({"dataId": data_id, "group": "DEFAULT_GROUP", "type": "yaml", "desc": odd, "appName": odd})
        files.append((f"DEFAULT_GROUP/{data_id}", f"content {i}"))
    files.append((".metadata.yml", snakeyaml(items)))
    read = read_export(java_like_zip(files), tenant="prod")
    assert read["metadata"] == "v2"
    assert [e["desc"] for e in read["entries"]] == ODD_IN
    assert [e["appName"] for e in read["entries"]] == ODD_IN
    assert all(e["tenant"] == "prod" and e["type"] == "yaml" for e in read["entries"])

    # Written back: zipfile reads it, PyYAML parses its metadata to the same strings.
    out = write_export(read["entries"], now=1_700_000_000)
    z = zipfile.ZipFile(io.BytesIO(out))
    assert z.testzip() is None
    assert z.namelist()[-1] == ".metadata.yml"
    parsed = yaml.safe_load(z.read(".metadata.yml").decode("utf-8"))["metadata"]
    assert [m["desc"] for m in parsed] == ODD_IN
    assert [m["appName"] for m in parsed] == ODD_IN
    for i, name in enumerate(z.namelist()[:-1]):
        assert z.read(name).decode() == f"content {i}"
    again = read_export(out, tenant="prod")
    assert again["entries"] == read["entries"]

    # Every odd string, the raw breaks included, through write_export: PyYAML reads what it wrote.
    entries = [{"dataId": f"d{i}", "group": "G", "content": "x", "desc": o, "appName": o, "configTags": o}
               for i, o in enumerate(ODD)]
    written = write_export(entries)
    z = zipfile.ZipFile(io.BytesIO(written))
    parsed = yaml.safe_load(z.read(".metadata.yml").decode("utf-8"))["metadata"]
    assert [(m["desc"], m["appName"], m["configTags"]) for m in parsed] == [(o, o, o) for o in ODD]
    assert [e["desc"] for e in read_export(written)["entries"]] == ODD


def test_odd_strings_in_pyyaml_default_styles_also_read() -> None:
    # PyYAML's own choices (double quotes with escapes, folded long lines) read back too.
    long = "word " * 40 + "end"
    items = [{"dataId": f"d{i}", "group": "G", "type": "text", "desc": s} for i, s in enumerate(ODD_IN + [long])]
    text = yaml.safe_dump({"metadata": items}, default_flow_style=False, allow_unicode=False, width=60)
    files = [(f"G/d{i}", "x") for i in range(len(items))] + [(".metadata.yml", text)]
    read = read_export(java_like_zip(files))
    assert [e["desc"] for e in read["entries"]] == ODD_IN + [long]


def test_v1_meta_and_a_sidecar_then_keys_survive_the_zip() -> None:
    old, new = LocalKms.from_string(OLD), LocalKms.from_string(NEW)
    sidecar = []
    files = []
    plain = {}
    for i, data_id in enumerate(["cipher-kms-aes-256-db.properties", "cipher-kms-aes-128-app.yaml", "cipher-token.json"]):
        s = encrypt_config(old, data_id=data_id, group="G", tenant="", content=f"v={i}", key_id="alias/old")
        files.append((f"G/{data_id}", s.content))
        sidecar.append(json.dumps({"dataId": data_id, "group": "G", "tenant": "", "content": s.content,
                                   "encryptedDataKey": s.encrypted_data_key}))
        plain[data_id] = f"v={i}"
    files.append(("G/lost.txt", "x"))
    files.append(("top-level-file", "skipped"))
    files.append((".meta.yml", "G.cipher-kms-aes-256-db~properties.app=shop\r\nG.lost~txt.app=other\r\n"))
    sidecar.append(json.dumps({"dataId": "gone", "group": "G", "encryptedDataKey": "k"}))
    read = read_export(java_like_zip(files), sidecar="\n".join(sidecar) + "\n")
    assert read["metadata"] == "v1"
    assert read["unrecognized"] == ["top-level-file"]
    assert read["sidecar"] == {"filled": 2, "replaced": [], "unused": [4], "conflicting": []}
    by_id = {e["dataId"]: e for e in read["entries"]}
    assert by_id["cipher-kms-aes-256-db.properties"]["appName"] == "shop"
    assert by_id["lost.txt"]["appName"] == "other"

    migrated = []
    for e in read["entries"]:
        if not e["dataId"].startswith("cipher-"):
            migrated.append(e)
            continue
        m = migrate_config(old, new, key_id="alias/new", data_id=e["dataId"], group=e["group"],
                           content=e["content"], encrypted_data_key=e["encryptedDataKey"])
        assert m is not None
        migrated.append({**e, "content": m["content"], "encryptedDataKey": m["encryptedDataKey"]})
    back = read_export(write_export(migrated))
    assert back["metadata"] == "v2"
    for e in back["entries"]:
        if e["dataId"] in plain:
            text = decrypt_config(new, data_id=e["dataId"], group=e["group"], tenant="",
                                  content=e["content"], encrypted_data_key=e["encryptedDataKey"])
            assert text == plain[e["dataId"]]
    assert {e["dataId"]: e["type"] for e in back["entries"]}["lost.txt"] == "text"


@pytest.mark.parametrize(
    "data",
    [b"", b"PK\x05\x06" + bytes(10), b"PK\x05\x06" + bytes(8) + b"\x01\x00\x01\x00" + bytes(10), b"not a zip at all" * 10],
)
def test_bad_archives_raise_invalid_argument(data: bytes) -> None:
    with pytest.raises(InvalidArgument):
        read_export(data)


def test_bad_metadata_and_sidecar_raise_invalid_argument() -> None:
    with pytest.raises(InvalidArgument, match=r"\.metadata\.yml line 2"):
        read_export(java_like_zip([("G/a", "x"), (".metadata.yml", "metadata:\n- {dataId: a}\n")]))
    with pytest.raises(InvalidArgument, match="sidecar line 1"):
        read_export(java_like_zip([("G/a", "x")]), sidecar='{"dataId": "a"}')
    with pytest.raises(InvalidArgument):
        write_export([{"dataId": "a/b", "group": "G", "content": "x"}])
    with pytest.raises(TypeError):
        write_export([{"group": "G", "content": "x"}])
