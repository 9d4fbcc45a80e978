#!/usr/bin/env python3
"""Oracle CLI for the KMS 3.0 instance API: the OFFICIAL SDKs' answers, for the Rust tests of
kms/aliyun to compare with (the instance counterpart of oracle.py).

    PY instance_oracle.py COMMAND < input.json > output.json

Runs in build/venv-dkms (scripts/aliyun-instance-test-env.sh): alibabacloud-dkms-gcs 1.0.2 and
alibabacloud-kms-python-sdk 1.1.3 pin protobuf < 3.20 and alibabacloud_kms20160120 < 3, which
conflicts with the OpenAPI oracle's venv. One JSON object on stdin, one on stdout. An SDK call
that fails is still exit 0 with {"error": {"code", "message", "status", ...}}; a bad command or
input is exit 2 with {"error": ...}.

Commands
  sign        {"string_to_sign", "client_key_file", "password"}
                -> {"signature": openapi_credential Client.get_signature(string_to_sign), i.e. the
                    whole "Bearer <base64>" authorization value, "key_id": the ClientKey's KeyId}
              {"method", "pathname"?, "headers": {..}, "query"?}
                -> {"string_to_sign_sdk": openapi_util Client.get_string_to_sign(...)}
              (both forms may be combined; RSA PKCS#1 v1.5 signatures are deterministic, so a
              signature can be compared byte for byte)
  transfer_generate_data_key / transfer_encrypt / transfer_decrypt
              {"endpoint": "127.0.0.1:P", "ca", "client_key_file", "password" (the password text;
               or "password_file"), "key_id", "key_spec"? | "number_of_bytes"? | "plaintext" |
               "ciphertext_blob", "context": {..}?, "advance": bool (default false),
               "autoretry": bool?, "read_timeout_ms"?, "connect_timeout_ms"?}
                -> the OpenAPI-style body the OFFICIAL transfer client
                   (alibabacloud_kms_kms20160120.transfer_client.TransferClient, kms_config only)
                   returns: KeyId, KeyVersionId, Plaintext?, CiphertextBlob?, RequestId.
                   "advance": false sets KmsConfig(force_low_version_crypto_transfer=True): the
                   Encrypt/Decrypt/GenerateDataKey instance APIs with the version header (what
                   Java and Go transfer clients do); true = the SDK's own default (Advance* APIs).
  dkms_encrypt / dkms_decrypt / dkms_generate_data_key
              the raw dkms-gcs sdk.client.Client: {"endpoint", "ca", "client_key_file",
               "password"|"password_file", "key_id"?, "plaintext_b64" | "ciphertext_blob_b64" +
               "iv_b64", "aad_b64"?, "number_of_bytes"?, "headers": {..}? (request headers, e.g.
               x-kms-migrationkeyversionid), "autoretry"?}
                -> {"KeyId", "CiphertextBlob" (b64), "Iv" (b64), "Plaintext" (b64), "RequestId",
                    "Algorithm", "KeyVersionId": the x-kms-migrationkeyversionid response header
                    (asked for through RuntimeOptions.response_headers), "responseHeaders"}

QUIRKS found in the official SDKs (the versions pinned in ../instance-requirements.txt)
  alibabacloud-dkms-gcs 1.0.2 (packages sdk, openapi, openapi_util, openapi_credential):
  - POST https://<endpoint>/ ; headers (all lower-case): accept and content-type
    application/x-protobuf, host = the endpoint as configured, date (formatdate(usegmt=True),
    'Thu, 06 Feb 2020 07:32:54 GMT'), user-agent, x-kms-apiversion dkms-gcs-0.2, x-kms-apiname,
    x-kms-signaturemethod RSA_PKCS1_SHA_256, x-kms-acccesskeyid (sic, three c's) = ClientKey KeyId,
    content-length, content-sha256 = UPPER-case hex sha256(body), authorization.
  - String to sign: 'POST\\n<content-sha256>\\n<content-type>\\n<date>\\n' + every header whose
    name starts with 'x-kms-' (names sorted, 'name:value.strip()\\n') + '/'. The canonical resource
    is '/' whenever a pathname is set (get_canonicalized_resource returns '/' for a SET pathname;
    the query branch is dead code). Caller-supplied request_headers are merged in BEFORE signing,
    so x-kms-migrationkeyversionid IS signed.
  - authorization = 'Bearer ' + base64(RSA PKCS#1 v1.5 SHA-256(string to sign as UTF-8)). The
    private key comes from the ClientKey's PKCS#12 via pyOpenSSL crypto.load_pkcs12 (removed in
    pyOpenSSL 23.3, so pyOpenSSL < 23.3, hence cryptography < 42), dumped as PKCS#8 PEM, stripped
    of its markers and re-wrapped in 'RSA PRIVATE KEY' markers (PKCS#1 label around PKCS#8 DER)
    before load_pem_private_key.
  - Any 4xx/5xx body is parsed as protobuf Error{StatusCode, ErrorCode, ErrorMessage, RequestId}
    (a non-protobuf error body raises DecodeError). Retries: on by default (RuntimeOptions.autoretry
    None -> True), 3 attempts, 1 s backoff, for network errors (requests IOError -> RetryError:
    reset, timeout, truncated body) and for ErrorCode Rejected.Throttling only (is_retry_err);
    5xx are not retried.
  - Response headers are only returned when named in RuntimeOptions.response_headers (lower-case
    names; TeaCore lower-cases them).
  - Raw Decrypt sends exactly what the caller sets: CiphertextBlob (= the Encrypt answer's ct||tag,
    without IV), Iv, KeyId, Aad, Algorithm; empty fields are omitted. It does not know the key
    version: without the migration header the server must find it from KeyId.
  - The TLS CA comes from Config.ca_file_path (or RuntimeOptions.verify) and goes to requests as
    verify=PATH. TeaCore caches one requests Session per 'https://host:port', so a wrong-CA check
    must run in a fresh process.
  alibabacloud-kms-python-sdk 1.1.3 (transfer client):
  - DEFAULT (force_low_version_crypto_transfer False) uses AdvanceEncrypt/AdvanceDecrypt/
    AdvanceGenerateDataKey: instance blob '$' 0x00 0x02 || version id || iv || ct; the OpenAPI
    blob is that without its 3 first bytes, i.e. the same base64(version id || iv || ct) layout.
    Its Aad is NOT the context JSON but sha256-hex (64 ASCII bytes) of 'k1=v1&k2=v2' (keys sorted,
    values raw); an empty context '{}' crashes (str.index('&') ValueError); non-string values crash.
    KeyVersionId comes from the response body.
  - force_low_version_crypto_transfer=True: Encrypt -> blob = base64(header version id (36 ASCII)
    || Iv || CiphertextBlob); a missing x-kms-migrationkeyversionid response header is an error
    ('Can not found response headers parameter[...]'), and Decrypt fails without ANY response
    header named in response_headers. Decrypt splits the blob, sends NO KeyId, the version id in
    the x-kms-migrationkeyversionid request header, Iv, ct, and Aad = the EncryptionContext JSON
    text verbatim (as alibabacloud_kms20160120 serialised it, see below). GenerateDataKey = instance GenerateDataKey (NumberOfBytes 32 / 16 from KeySpec) then
    Encrypt(base64(data key)) with the same Aad; the answer's Plaintext is base64(data key) and
    the CiphertextBlob decrypts to that base64 TEXT.
  - EncryptionContext reaches the handlers as OpenApiUtilClient.array_to_string_with_specified_style
    (ctx, ..., 'json') = json.dumps(ctx, ensure_ascii=False, separators=(',', ':')): compact,
    non-ASCII as is, key order as given; that text (UTF-8) is the low-version Aad, so
    {"b": "1", "a": "2"} and {"a": "2", "b": "1"} give DIFFERENT Aad (the instance compares bytes).
  - Errors are re-mapped: InvalidParam + 'The Param Date is invalid.' -> IllegalTimestamp;
    InvalidParam + 'The Param Authorization is invalid.' -> IncompleteSignature; Unauthorized ->
    InvalidAccessKeyId.NotFound; Forbidden.KeyNotFound / Forbidden.NoPermission / InternalFailure
    / Rejected.Throttling keep their code with a fixed message; others pass through. Network
    failures after retries: SDK.ReadTimeout (message contains 'timeout' or RetryError).
  - KmsRuntimeOptions' max_attempts/backoff_period never reach the dkms client (tea_util's
    to_map writes snake_case keys, dkms' from_map reads camelCase); autoretry, readTimeout,
    connectTimeout and ignoreSSL do.
  - KmsConfig has no CA parameter: set kms_config.ca_file_path (a dkms Config field) after
    construction.
  - TransferClient(kms_config=cfg) ALONE never stores self.kms_config: force_low_version_crypto_
    transfer and encoding are then IGNORED and the Advance APIs are used whatever the config says.
    TransferClient(config=open_api_models.Config(endpoint=...), kms_config=cfg) honours them.
  - transfer_kms_exception returns None for ErrorCode InvalidParam with any message other than the
    Date/Authorization ones, so the handler does 'raise None': the caller gets a bare TypeError
    ('exceptions must derive from BaseException'), not a TeaException.
"""

from __future__ import annotations

import base64
import os
import sys
import warnings
from typing import Any, Callable, Dict, Optional

warnings.filterwarnings("ignore", category=DeprecationWarning)  # pyOpenSSL's PKCS#12 warning

# The CLI part (usage errors, dispatch, main) is loopback.py's, shared with oracle.py;
# loopback.py sits beside this file (on sys.path when this file runs as a script; added here
# for an import by path).
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
import loopback  # noqa: E402


_fail = loopback.oracle_fail
_need = loopback.oracle_need


def _password(inp: Dict[str, Any]) -> str:
    if "password" in inp:
        return inp["password"]
    if "password_file" in inp:
        with open(inp["password_file"], "r", encoding="utf-8") as f:
            return f.read()
    _fail("missing 'password' or 'password_file'")
    return ""


def _error_of(exc: BaseException) -> Dict[str, Any]:
    inner: BaseException = exc
    if getattr(exc, "inner_exception", None) is not None:  # Tea UnretryableException
        inner = exc.inner_exception  # type: ignore[attr-defined]
    data = getattr(inner, "data", None)
    status = None
    if isinstance(data, dict):
        status = data.get("httpCode")
    return {"error": {"code": getattr(inner, "code", None) or type(inner).__name__,
                      "message": getattr(inner, "message", None) or str(inner),
                      "status": status,
                      "request_id": data.get("requestId") if isinstance(data, dict) else None,
                      "exception": type(exc).__name__,
                      "inner_exception": type(inner).__name__}}


# ---- signatures ---------------------------------------------------------------------------

def sign(inp: Dict[str, Any]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    if "string_to_sign" in inp:
        from openapi_credential import models as cred_models
        from openapi_credential.client import Client as CredentialClient
        cred = CredentialClient(cred_models.Config(type="rsa_key_pair",
                                                   client_key_file=_need(inp, "client_key_file"),
                                                   password=_password(inp)))
        out["signature"] = cred.get_signature(inp["string_to_sign"])
        out["key_id"] = cred.get_access_key_id()
    if "headers" in inp:
        from openapi_util.client import Client as DkmsUtil
        headers = inp["headers"]
        if not isinstance(headers, dict):
            _fail("headers must be an object")
        out["string_to_sign_sdk"] = DkmsUtil.get_string_to_sign(inp.get("method", "POST"),
                                                                inp.get("pathname", "/"), dict(headers),
                                                                inp.get("query"))
    if not out:
        _fail("sign needs string_to_sign (+ client_key_file, password) and/or headers")
    return out


# ---- the transfer client -------------------------------------------------------------------

def _transfer_client(inp: Dict[str, Any]) -> Any:
    from alibabacloud_kms_kms20160120.models import KmsConfig
    from alibabacloud_kms_kms20160120.transfer_client import TransferClient
    cfg = KmsConfig(protocol="https", endpoint=_need(inp, "endpoint"),
                    client_key_file=_need(inp, "client_key_file"), password=_password(inp),
                    read_timeout=int(inp.get("read_timeout_ms", 10000)),
                    connect_timeout=int(inp.get("connect_timeout_ms", 5000)),
                    force_low_version_crypto_transfer=not inp.get("advance", False))
    if inp.get("ca"):
        cfg.ca_file_path = inp["ca"]
    # With kms_config ALONE the constructor never stores self.kms_config, so
    # force_low_version_crypto_transfer (and encoding) would be ignored: always the Advance APIs.
    # Passing an OpenAPI Config too (is_use_kms_share_gateway stays False) is how they take effect.
    from alibabacloud_tea_openapi import models as open_api_models
    return TransferClient(config=open_api_models.Config(endpoint=inp["endpoint"]), kms_config=cfg)


def _runtime(inp: Dict[str, Any]) -> Any:
    from alibabacloud_tea_util import models as util_models
    rt = util_models.RuntimeOptions()
    if inp.get("autoretry") is not None:
        rt.autoretry = bool(inp["autoretry"])
    return rt


def _context(inp: Dict[str, Any]) -> Optional[Dict[str, str]]:
    ctx = inp.get("context")
    if ctx is None:
        return None
    if not isinstance(ctx, dict):
        _fail("context must be an object")
    return ctx


def _transfer(call: Callable[[Any, Dict[str, Any]], Any]) -> Callable[[Dict[str, Any]], Dict[str, Any]]:
    def run(inp: Dict[str, Any]) -> Dict[str, Any]:
        try:
            client = _transfer_client(inp)
            resp = call(client, inp)
        except Exception as exc:  # the SDK's own exceptions, reported as data
            return _error_of(exc)
        return resp.body.to_map()
    return run


def _t_generate(client: Any, inp: Dict[str, Any]) -> Any:
    from alibabacloud_kms20160120 import models
    req = models.GenerateDataKeyRequest(key_id=_need(inp, "key_id"))
    if inp.get("number_of_bytes") is not None:
        req.number_of_bytes = int(inp["number_of_bytes"])
    elif inp.get("key_spec"):
        req.key_spec = inp["key_spec"]
    ctx = _context(inp)
    if ctx is not None:
        req.encryption_context = ctx
    return client.generate_data_key_with_options(req, _runtime(inp))


def _t_encrypt(client: Any, inp: Dict[str, Any]) -> Any:
    from alibabacloud_kms20160120 import models
    req = models.EncryptRequest(key_id=_need(inp, "key_id"), plaintext=_need(inp, "plaintext"))
    ctx = _context(inp)
    if ctx is not None:
        req.encryption_context = ctx
    return client.encrypt_with_options(req, _runtime(inp))


def _t_decrypt(client: Any, inp: Dict[str, Any]) -> Any:
    from alibabacloud_kms20160120 import models
    req = models.DecryptRequest(ciphertext_blob=_need(inp, "ciphertext_blob"))
    ctx = _context(inp)
    if ctx is not None:
        req.encryption_context = ctx
    return client.decrypt_with_options(req, _runtime(inp))


# ---- the raw dkms-gcs client ---------------------------------------------------------------

MIGRATION_HEADER = "x-kms-migrationkeyversionid"


def _dkms_client(inp: Dict[str, Any]) -> Any:
    from openapi import models as dkms_models
    from sdk.client import Client
    cfg = dkms_models.Config(protocol="https", endpoint=_need(inp, "endpoint"),
                             client_key_file=_need(inp, "client_key_file"), password=_password(inp),
                             read_timeout=int(inp.get("read_timeout_ms", 10000)),
                             connect_timeout=int(inp.get("connect_timeout_ms", 5000)))
    if inp.get("ca"):
        cfg.ca_file_path = inp["ca"]
    return Client(cfg)


def _dkms_runtime(inp: Dict[str, Any]) -> Any:
    from openapi_util import models as util_models
    rt = util_models.RuntimeOptions(response_headers=[MIGRATION_HEADER])
    if inp.get("autoretry") is not None:
        rt.autoretry = bool(inp["autoretry"])
    return rt


def _b64(inp: Dict[str, Any], name: str) -> bytes:
    value = inp.get(name)
    return base64.b64decode(value) if value else b""


def _dkms_out(resp: Any) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for field in ("key_id", "request_id", "algorithm", "padding_mode"):
        if getattr(resp, field, None) is not None:
            out["".join(p.capitalize() for p in field.split("_"))] = getattr(resp, field)
    for field, name in (("ciphertext_blob", "CiphertextBlob"), ("iv", "Iv"), ("plaintext", "Plaintext")):
        value = getattr(resp, field, None)
        if value is not None:
            out[name] = base64.b64encode(value).decode("ascii")
    headers = dict(resp.response_headers or {})
    out["responseHeaders"] = headers
    out["KeyVersionId"] = headers.get(MIGRATION_HEADER)
    return out


def _dkms(call: Callable[[Any, Dict[str, Any]], Any]) -> Callable[[Dict[str, Any]], Dict[str, Any]]:
    def run(inp: Dict[str, Any]) -> Dict[str, Any]:
        try:
            client = _dkms_client(inp)
            resp = call(client, inp)
        except Exception as exc:
            return _error_of(exc)
        return _dkms_out(resp)
    return run


def _d_encrypt(client: Any, inp: Dict[str, Any]) -> Any:
    from sdk import models
    req = models.EncryptRequest(key_id=_need(inp, "key_id"), plaintext=_b64(inp, "plaintext_b64"),
                                aad=_b64(inp, "aad_b64") or None, request_headers=inp.get("headers"))
    return client.encrypt_with_options(req, _dkms_runtime(inp))


def _d_decrypt(client: Any, inp: Dict[str, Any]) -> Any:
    from sdk import models
    req = models.DecryptRequest(key_id=inp.get("key_id"), ciphertext_blob=_b64(inp, "ciphertext_blob_b64"),
                                iv=_b64(inp, "iv_b64"), aad=_b64(inp, "aad_b64") or None,
                                request_headers=inp.get("headers"))
    return client.decrypt_with_options(req, _dkms_runtime(inp))


def _d_generate(client: Any, inp: Dict[str, Any]) -> Any:
    from sdk import models
    req = models.GenerateDataKeyRequest(key_id=_need(inp, "key_id"), aad=_b64(inp, "aad_b64") or None,
                                        request_headers=inp.get("headers"))
    if inp.get("number_of_bytes") is not None:
        req.number_of_bytes = int(inp["number_of_bytes"])
    return client.generate_data_key_with_options(req, _dkms_runtime(inp))


COMMANDS: Dict[str, Callable[[Dict[str, Any]], Dict[str, Any]]] = {
    "sign": sign,
    "transfer_generate_data_key": _transfer(_t_generate),
    "transfer_encrypt": _transfer(_t_encrypt),
    "transfer_decrypt": _transfer(_t_decrypt),
    "dkms_encrypt": _dkms(_d_encrypt),
    "dkms_decrypt": _dkms(_d_decrypt),
    "dkms_generate_data_key": _dkms(_d_generate),
}


def run(command: str, inp: Dict[str, Any]) -> Dict[str, Any]:
    """In-process entry point (the pytest file uses it; the Rust tests use the CLI)."""
    return loopback.oracle_run(COMMANDS, command, inp)


def main(argv: Optional[list] = None) -> int:
    return loopback.oracle_main(COMMANDS, "instance_oracle.py", argv)


if __name__ == "__main__":
    sys.exit(main())
