#!/usr/bin/env python3
"""Oracle CLI: the OFFICIAL Alibaba SDKs' answers, for the Rust tests of kms/aliyun to compare with.

    PY oracle.py COMMAND < input.json > output.json

One JSON object on stdin, one JSON object on stdout. An SDK call that fails is still exit 0 with
{"error": {"code", "message", "status", ...}}; a bad command or input is exit 2 with {"error": ...}.

Commands
  sign_v3     {"method","pathname","query":{..},"headers":{..},"payload_hash","access_key_id",
               "access_key_secret"}
              -> {"authorization": alibabacloud_openapi_util Client.get_authorization(...),
                  "canonical_query": get_canonical_query_string(query),
                  "canonical_headers", "signed_headers": get_canonicalized_headers(headers)}
              Every header given is signed (that is what the Tea client does: it signs all the
              headers it set itself, see QUIRKS).
  sign_rpc    {"method","params":{..},"access_key_secret"}
              -> {"signature_openapi_util": Client.get_rpcsignature(params, method, secret),
                  "signature_sdkcore": aliyunsdkcore rpc_signature_composer + sha_hmac1,
                  "string_to_sign": aliyunsdkcore's string to sign,
                  "signature_credentials": alibabacloud_credentials' own AssumeRole signer,
                  "string_to_sign_credentials": its string to sign}
  sdk_generate_data_key / sdk_encrypt / sdk_decrypt
              {"endpoint","ca","access_key_id","access_key_secret","security_token"?,
               "signature":"v3"|"v2","key_id","key_spec"|"number_of_bytes"|"plaintext"|
               "ciphertext_blob","context":{..}?, "read_timeout_ms"?}
              -> the response body fields (KeyId, KeyVersionId, Plaintext, CiphertextBlob,
                 RequestId) from the official alibabacloud_kms20160120 client.
  nacos_encrypt {"endpoint","ca","access_key_id","access_key_secret","key_id","data_id","content"}
              -> {"content","encrypted_data_key"}   (nacos-sdk-python v2's own KMSHandler)
  nacos_decrypt {"endpoint","ca","access_key_id","access_key_secret","data_id","content",
               "encrypted_data_key"} -> {"content"}

QUIRKS found in the official SDKs (the versions pinned in ../requirements.txt)
  alibabacloud_tea_openapi 0.4.x (darabonba generation) + alibabacloud_kms20160120 3.3.1:
  - Default signature is V3 ACS3-HMAC-SHA256 (Client.do_request); Config.signature_algorithm =
    'v2' selects RPC V2 HMAC-SHA1 (do_rpcrequest). signature_version 'v4' would go through the
    gateway-pop SPI instead (unused here).
  - V3: every parameter (KeyId, KeySpec, Plaintext, CiphertextBlob, EncryptionContext) goes in
    the QUERY string; Action and Version are NOT in the query but in x-acs-action/x-acs-version.
    The body is an EMPTY form ('' with content-type application/x-www-form-urlencoded, because
    the generated code always passes body = {}), so x-acs-content-sha256 = sha256('') =
    e3b0c442...b855. The client signs EVERY header it set: accept (application/json),
    content-type, host (the endpoint as configured, e.g. 127.0.0.1:PORT), user-agent,
    x-acs-action, x-acs-content-sha256, x-acs-credentials-provider (e.g. 'static_ak',
    'static_sts', 'ram_role_arn/static_ak'), x-acs-date (YYYY-MM-DDTHH:MM:SSZ),
    x-acs-signature-nonce, x-acs-version, and with STS credentials also x-acs-accesskey-id and
    x-acs-security-token. The canonical query encodes values only (quote, safe='~'), keys raw.
  - V2: Action, Format=json, Version, Timestamp, SignatureNonce, SignatureMethod=HMAC-SHA1,
    SignatureVersion=1.0, AccessKeyId, [SecurityToken], Signature all in the query, again with an
    empty form body; the x-acs-action/x-acs-version headers are sent too (unsigned).
  - The URL query is built with urlencode (quote_plus): spaces travel as '+', so a server must
    form-decode the query ('+' = space) before verifying.
  - EncryptionContext is sent as json.dumps(ctx, ensure_ascii=False, separators=(',', ':')):
    compact, non-ASCII as is (percent-encoded UTF-8 on the wire), key order as given.
  - CA: Config(ca=PATH) (or RuntimeOptions(ca=PATH)) is passed to requests as verify=PATH. The
    SSL context is per host:port session and SHARED, so CAs loaded for one call stay loaded for
    the next call to the same host:port in the same process (a wrong-CA test must use another
    port or process). REQUESTS_CA_BUNDLE is NOT honoured (Session.send, not Session.request);
    SSL_CERT_FILE is (the adapter's context comes from ssl.create_default_context()).
  - No retries by default (retry_options None); errors: ClientException (4xx), ServerException
    (5xx), ThrottlingException (only with an x-acs-retry-after header); a network error or a
    non-JSON 200 body surfaces as darabonba UnretryableException.
  alibabacloud_credentials 1.0.12:
  - RamRoleArn / OIDC providers: STS endpoint overridable (sts_endpoint=HOST:PORT), HTTPS GET,
    all parameters in the query; no CA option: trust comes from SSL_CERT_FILE (see above).
    AssumeRole is V2-signed by its OWN signer (parameter_helper.compose_string_to_sign, plain
    quote_plus without the '+' -> %20 fix-up): it differs from the standard signature when a
    value contains a space (e.g. a Policy JSON with spaces). AssumeRoleWithOIDC is unsigned,
    has no SignatureNonce, and sends Timestamp, DurationSeconds, RoleArn, OIDCProviderArn,
    OIDCToken, RoleSessionName. Expiration must be exactly %Y-%m-%dT%H:%M:%SZ.
  - ECS RAM role: the host 100.100.100.200 is hard-coded (a name-mangled private attribute,
    no env var or config field); PUT /latest/api/token with X-aliyun-ecs-metadata-token-ttl-
    seconds: 21600; GET .../security-credentials/[role] with X-aliyun-ecs-metadata-token; a
    failing PUT falls back to IMDSv1 (no token) unless ALIBABA_CLOUD_IMDSV1_DISABLED=true;
    connect/read timeouts 1 s; needs "Code": "Success".
  - Credentials URI: ALIBABA_CLOUD_CREDENTIALS_URI (http allowed), needs Code=Success and all
    of AccessKeyId, AccessKeySecret, SecurityToken, Expiration.
  nacos-sdk-python 3.2.0 (v2/nacos/config/encryption):
  - KMSConfig(endpoint, access_key, secret_key) only: no CA, no region, no security token, no
    signature choice (V3 default), protocol forced to https. A private CA can only come in
    through SSL_CERT_FILE (what this oracle does) or by poking the client's private _ca.
  - Plugins are looked up by startswith over 'cipher-kms-aes-128', 'cipher-kms-aes-256',
    'cipher' in that order: the trailing hyphen is NOT required ('cipher-kms-aes-256x' is
    envelope AES-256); key_id blank -> 'alias/acs/mse'.
  - Envelope: GenerateDataKey(KeySpec AES_128|AES_256) WITHOUT EncryptionContext; the data key
    is the response's Plaintext TEXT, base64-decoded with base64.b64decode (lenient: non-alphabet
    characters are dropped, no validation); AES-ECB (pycryptodome), PKCS#7 pad; decrypt unpads
    WITHOUT checking (strips last-byte-count bytes, even 0 or > 16); content = b64encode.
    encrypted_data_key = the GenerateDataKey CiphertextBlob; decrypt calls Decrypt on it
    (no context) and uses the returned Plaintext text as the key the same way.
  - Direct 'cipher-': Encrypt(Plaintext = content UTF-8 bytes, no context); the blob is the
    content; encrypted_data_key stays whatever the caller passed ('' normally). Decrypt returns
    Plaintext text as the content.
  - No HTML escaping anywhere in the Python client (json.dumps, not Go's json.Marshal).
  - check_param refuses an empty content and a data id not starting with 'cipher-'.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, Dict, Optional

HERE = os.path.dirname(os.path.abspath(__file__))

# The CLI part (usage errors, dispatch, main) is loopback.py's, shared with instance_oracle.py;
# loopback.py sits beside this file (on sys.path when this file runs as a script; added here
# for an import by path).
if HERE not in sys.path:
    sys.path.insert(0, HERE)
import loopback  # noqa: E402


_fail = loopback.oracle_fail
_need = loopback.oracle_need


def _str_map(value: Any, what: str) -> Dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        _fail("%s must be an object of strings" % what)
    return dict(value)


# ---- signatures ---------------------------------------------------------------------------

class _Req:
    def __init__(self, method: str, pathname: str, query: Dict[str, str], headers: Dict[str, str]) -> None:
        self.method, self.pathname, self.query, self.headers = method, pathname, query, headers


def sign_v3(inp: Dict[str, Any]) -> Dict[str, Any]:
    from alibabacloud_openapi_util.client import Client, get_canonical_query_string, get_canonicalized_headers
    query = _str_map(inp.get("query"), "query")
    headers = _str_map(inp.get("headers"), "headers")
    req = _Req(_need(inp, "method"), inp.get("pathname") or "/", query, headers)
    auth = Client.get_authorization(req, inp.get("algorithm", "ACS3-HMAC-SHA256"), _need(inp, "payload_hash"),
                                    _need(inp, "access_key_id"), _need(inp, "access_key_secret"))
    canon_headers, signed = get_canonicalized_headers(headers)
    return {"authorization": auth, "canonical_query": get_canonical_query_string(query),
            "canonical_headers": canon_headers, "signed_headers": signed}


def sign_rpc(inp: Dict[str, Any]) -> Dict[str, Any]:
    from alibabacloud_openapi_util.client import Client
    from aliyunsdkcore.auth.algorithm import sha_hmac1
    from aliyunsdkcore.auth.composer import rpc_signature_composer
    from alibabacloud_credentials.utils import parameter_helper as cred_ph
    method = _need(inp, "method")
    params = _str_map(_need(inp, "params"), "params")
    params.pop("Signature", None)
    secret = _need(inp, "access_key_secret")
    compose = getattr(rpc_signature_composer, "__compose_string_to_sign")
    get_sig = getattr(rpc_signature_composer, "__get_signature")
    sts = compose(method, dict(params))
    cred_sts = cred_ph.compose_string_to_sign(method, dict(params))
    return {"signature_openapi_util": Client.get_rpcsignature(dict(params), method, secret),
            "signature_sdkcore": get_sig(sts, secret, sha_hmac1),
            "string_to_sign": sts,
            "signature_credentials": cred_ph.sign_string(cred_sts, secret + "&"),
            "string_to_sign_credentials": cred_sts}


# ---- the official KMS client ---------------------------------------------------------------

def _error_of(exc: BaseException) -> Dict[str, Any]:
    """Official exceptions -> {"error": {...}} (code/message/status as the SDK reports them)."""
    inner: BaseException = exc
    if getattr(exc, "inner_exception", None) is not None:  # darabonba/Tea UnretryableException
        inner = exc.inner_exception  # type: ignore[attr-defined]
    data = getattr(inner, "data", None)
    status = getattr(inner, "status_code", None) or getattr(inner, "statusCode", None)
    return {"error": {"code": getattr(inner, "code", None) or type(inner).__name__,
                      "message": getattr(inner, "message", None) or str(inner),
                      "status": status,
                      "request_id": getattr(inner, "request_id", None),
                      "exception": type(exc).__name__,
                      "data": data if isinstance(data, dict) else None}}


def kms_client(inp: Dict[str, Any]) -> Any:
    from alibabacloud_kms20160120.client import Client
    from alibabacloud_tea_openapi import models as open_api_models
    cfg = open_api_models.Config(access_key_id=_need(inp, "access_key_id"),
                                 access_key_secret=_need(inp, "access_key_secret"),
                                 endpoint=_need(inp, "endpoint"), protocol=inp.get("protocol", "https"))
    if inp.get("security_token"):
        cfg.security_token = inp["security_token"]
    if inp.get("ca"):
        cfg.ca = inp["ca"]  # handed to requests as verify=PATH
    if inp.get("signature", "v3") == "v2":
        cfg.signature_algorithm = "v2"
    cfg.read_timeout = int(inp.get("read_timeout_ms", 10000))
    cfg.connect_timeout = int(inp.get("connect_timeout_ms", 5000))
    return Client(cfg)


def _sdk(call: Callable[[Any, Dict[str, Any]], Any]) -> Callable[[Dict[str, Any]], Dict[str, Any]]:
    def run(inp: Dict[str, Any]) -> Dict[str, Any]:
        client = kms_client(inp)
        try:
            resp = call(client, inp)
        except Exception as exc:  # the SDK's own exception types, reported as data
            return _error_of(exc)
        return resp.body.to_map()
    return run


def _generate(client: Any, inp: Dict[str, Any]) -> Any:
    from alibabacloud_kms20160120 import models
    req = models.GenerateDataKeyRequest(key_id=_need(inp, "key_id"))
    if inp.get("number_of_bytes") is not None:
        req.number_of_bytes = int(inp["number_of_bytes"])
    else:
        req.key_spec = inp.get("key_spec", "AES_256")
    if inp.get("context") is not None:
        req.encryption_context = _str_map(inp["context"], "context")
    return client.generate_data_key(req)


def _encrypt(client: Any, inp: Dict[str, Any]) -> Any:
    from alibabacloud_kms20160120 import models
    req = models.EncryptRequest(key_id=_need(inp, "key_id"), plaintext=_need(inp, "plaintext"))
    if inp.get("context") is not None:
        req.encryption_context = _str_map(inp["context"], "context")
    return client.encrypt(req)


def _decrypt(client: Any, inp: Dict[str, Any]) -> Any:
    from alibabacloud_kms20160120 import models
    req = models.DecryptRequest(ciphertext_blob=_need(inp, "ciphertext_blob"))
    if inp.get("context") is not None:
        req.encryption_context = _str_map(inp["context"], "context")
    return client.decrypt(req)


# ---- nacos-sdk-python v2's own KMS encryption plugins --------------------------------------

def _nacos_handler(inp: Dict[str, Any]) -> Any:
    # nacos' KMSConfig has no CA option: trust the test CA the way a user would have to,
    # through SSL_CERT_FILE, which ssl.create_default_context() (darabonba's adapter) reads.
    # Must be set before the first HTTPS session to that host is created (this process).
    if inp.get("ca"):
        os.environ["SSL_CERT_FILE"] = inp["ca"]
    from v2.nacos.common.client_config import KMSConfig
    from v2.nacos.config.encryption.kms_handler import KMSHandler
    return KMSHandler(KMSConfig(enabled=True, endpoint=_need(inp, "endpoint"),
                                access_key=_need(inp, "access_key_id"),
                                secret_key=_need(inp, "access_key_secret")))


def nacos_encrypt(inp: Dict[str, Any]) -> Dict[str, Any]:
    from v2.nacos.config.model.config_param import HandlerParam
    handler = _nacos_handler(inp)
    param = HandlerParam(data_id=_need(inp, "data_id"), content=_need(inp, "content"),
                         key_id=inp.get("key_id", ""))
    try:
        out = handler.encrypt_handler(param)
    except Exception as exc:
        return _error_of(exc)
    return {"content": out.content, "encrypted_data_key": out.encrypted_data_key or ""}


def nacos_decrypt(inp: Dict[str, Any]) -> Dict[str, Any]:
    from v2.nacos.config.model.config_param import HandlerParam
    handler = _nacos_handler(inp)
    param = HandlerParam(data_id=_need(inp, "data_id"), content=_need(inp, "content"),
                         encrypted_data_key=inp.get("encrypted_data_key", ""))
    try:
        out = handler.decrypt_handler(param)
    except Exception as exc:
        return _error_of(exc)
    return {"content": out.content}


COMMANDS: Dict[str, Callable[[Dict[str, Any]], Dict[str, Any]]] = {
    "sign_v3": sign_v3,
    "sign_rpc": sign_rpc,
    "sdk_generate_data_key": _sdk(_generate),
    "sdk_encrypt": _sdk(_encrypt),
    "sdk_decrypt": _sdk(_decrypt),
    "nacos_encrypt": nacos_encrypt,
    "nacos_decrypt": nacos_decrypt,
}


def run(command: str, inp: Dict[str, Any]) -> Dict[str, Any]:
    """In-process entry point (the pytest file uses it; the Rust tests use the CLI)."""
    return loopback.oracle_run(COMMANDS, command, inp)


def main(argv: Optional[list] = None) -> int:
    return loopback.oracle_main(COMMANDS, "oracle.py", argv)


if __name__ == "__main__":
    sys.exit(main())
