#!/usr/bin/env python3
"""Seeds the fuzz corpora from the project's test vectors (core/tests/vectors)."""
import json
import pathlib
import hashlib

here = pathlib.Path(__file__).resolve().parent
vectors = here.parent / "core" / "tests" / "vectors"
corpus = here / "corpus"


def put(target: str, data: bytes) -> None:
    d = corpus / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


local = json.loads((vectors / "config-local-kms.json").read_text())
ecb = json.loads((vectors / "config-nacos-ecb.json").read_text())
tokens = json.loads((vectors / "tokens.json").read_text())

put("keyring_parse", local["keyring"].encode())
for case in local["cases"] + local["must_fail"]:
    fields = [case["dataId"], case["group"], case["tenant"], case["encryptedDataKey"], case["content"]]
    put("config_decrypt", "\n".join(fields).encode())
for case in local["cases"]:
    suffix = case["dataId"].split("-")[-1]
    selector = (0x80 if case["format"] == "v1" else 0) | (0 if "256" in case["dataId"] else 1)
    put("config_roundtrip", bytes([selector]) + "\n".join([suffix, case["group"], case["tenant"], case["plaintext"]]).encode())
for case in ecb["cases"] + ecb["must_fail"]:
    put("config_decrypt", "\n".join(["cipher-kms-aes-256-x", "g", "", "", case["content"]]).encode())

for case in tokens["secret_keys"]:
    put("secret_key", case["secret"].encode())
for case in tokens["sign"] + tokens["verify"]:
    put("token_verify", case["token"].encode())
    payload = case["token"].split(".")
    if len(payload) == 3:
        import base64
        raw = payload[1] + "=" * (-len(payload[1]) % 4)
        try:
            put("claims_json", base64.urlsafe_b64decode(raw))
        except Exception:
            pass
for doc in [b'{"sub":"nacos","exp":4102444800}', b'{"sub":"\\ud83d\\ude00","exp":1.5e3,"x":[{"y":null}]}',
            b'{"exp":1,"sub":"a","sub":"b"}', b'{"sub":"a","exp":-9223372036854775808}']:
    put("claims_json", doc)
# properties_expansion: byte 0 even = the text as is, odd = the placeholder generator.
for text in ["nacos.core.auth.plugin.nacos.token.secret.key=${p0}\np0=${p1}${p1}\np1=AAAA\n",
             "nacos.core.auth.server.identity.key=${a:${b:c}}x\nb=${NACOS_AUTH_TOKEN}\n"]:
    put("properties_expansion", b"\x00" + text.encode())
put("properties_expansion", b"\x01" + bytes([9, 0, 9, 0, 9, 0, 9, 0]))
put("properties_expansion", b"\x01" + bytes([31, 1, 31, 2, 31, 3]))
# ffi_nul: byte 0 % 3 = 0 login response, 1 token subject, 2 KMS blob (selector / 3 picks
# the data ID and format).
put("ffi_nul", b"\x00" + b"a.b.c\x00nacos")
put("ffi_nul", b"\x01" + b"na\x00cos")
put("ffi_nul", b"\x02" + b"blob\x00tail")
put("ffi_nul", b"\x0e" + b"QUJDRA==")
# Key services: KMS answers (2 status bytes, then the body), credentials, settings, protobuf.
for status, body in [(200, b'{"KeyId":"k","Plaintext":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=","RequestId":"r"}'),
                     (429, b'{"Code":"Rejected.Throttling","Message":"QPS Limit Exceeded","RequestId":"r"}'),
                     (200, b'{"Code":"Success","AccessKeyId":"STS.a","AccessKeySecret":"s","SecurityToken":"t","Expiration":"2030-01-01T00:00:00Z"}')]:
    put("aliyun_response", status.to_bytes(2, "little") + body)
for text in [b"[default]\ntype = access_key\naccess_key_id = a\naccess_key_secret = b\n",
             b'{"current":"p","profiles":[{"name":"p","mode":"RamRoleArn","access_key_id":"a","access_key_secret":"b","ram_role_arn":"r"}]}',
             b"kmsEndpoint=kms.cn-hangzhou.aliyuncs.com\naccessKey=a\nsecretKey=b\nkeyId=alias/k\nkmsCache=fallback\n",
             b"RegionId=cn-shanghai\nramRoleName=r\nOpenKMS=true\n"]:
    put("aliyun_settings", text)
for body in [b"\x0a\x0dalias/acs/mse\x12\x10" + bytes(16) + b"\x1a\x0c" + bytes(12) + b"\x22\x03req",
             b"\x08\x90\x03\x12\x13Rejected.Throttling\x1a\x04slow\x22\x01r",
             b'{"KeyId":"KAAP.x","PrivateKeyData":"MIIB"}']:
    put("aliyun_instance", body)
# Export ZIPs (selector 0: a ZIP written as a stream, data descriptors as Java writes them),
# .metadata.yml texts as SnakeYAML writes them (1), sidecar lines (2).
import io, zipfile
class _Stream(io.RawIOBase):
    def __init__(self): self.b = bytearray()
    def writable(self): return True
    def write(self, d): self.b += d; return len(d)
_meta = ("metadata:\n- appName: ' shop'\n  dataId: cipher-kms-aes-256-db.yaml\n  desc: 'a: b #c ''q'' 中文'\n"
         "  encryptedDataKey: AAEC\n  group: DEFAULT_GROUP\n  type: yaml\n- dataId: x\n  desc: |-\n    l1\n      l2\n"
         "  group: G\n  type: text\n- dataId: \"\\ttab\"\n  desc: long\n    folded\n  group: G\n  type: text\n")
for meta_name, meta in [(".metadata.yml", _meta), (".meta.yml", "DEFAULT_GROUP.cipher-kms-aes-256-db~yaml.app=shop\r\n")]:
    s = _Stream()
    with zipfile.ZipFile(s, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("DEFAULT_GROUP/cipher-kms-aes-256-db.yaml", "q1w2e3r4t5y6u7i8o9p0aa==")
        z.writestr("G/x", "plain")
        z.writestr("G/dir/", "")
        z.writestr(meta_name, meta)
    put("export_zip", b"\x00" + bytes(s.b))
put("export_zip", b"\x01" + _meta.encode())
put("export_zip", b"\x01metadata: []\n")
put("export_zip", b'\x02{"dataId":"d","group":"g","tenant":"t","content":"c","encryptedDataKey":"k"}\n\n{"dataId":"e","group":"g","encryptedDataKey":"k2"}')
put("export_zip", b'\x03{"dataId":"cipher-kms-aes-256-d","group":"G","tenant":"t","content":"q1\\"\\n\\u00e9","encryptedDataKey":"k","type":"yaml","appName":null,"desc":"d","configTags":"a,b"}\n\n{"dataId":"e","group":"g","content":""}')
print(f"seeded {sum(1 for _ in corpus.rglob('*') if _.is_file())} inputs under {corpus}")
