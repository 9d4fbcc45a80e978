"""boto3 / botocore as oracles of the AWS KMS tests: one JSON object in on stdin, one out.

    aws_oracle.py sign < {"cases": [{"method", "url", "headers": {..}, "body_b64", "access_key_id",
                                     "secret", "token"?, "region", "service", "amz_date"}, ...]}
        -> {"authorizations": [botocore SigV4Auth's Authorization header of each case]}
    aws_oracle.py generate_data_key < {"endpoint", "ca", "key_id", "spec", "context"?}
        -> {"plaintext_b64", "blob_b64"}        (boto3, the blob base64-encoded as stored)
    aws_oracle.py decrypt < {"endpoint", "ca", "blob_b64", "context"?} -> {"plaintext_b64"}
    aws_oracle.py encrypt < {"endpoint", "ca", "key_id", "plaintext_b64", "context"?} -> {"blob_b64"}
    aws_oracle.py assume_role_with_web_identity < {"endpoint", "ca", "role_arn", "token"}
        -> {"access_key_id"}
    aws_oracle.py credential_source < {"env": {NAME: VALUE, ...}}
        -> {"method"}   (botocore's default chain with exactly these variables: the method of
                         the credentials it picks, "env", "assume-role-with-web-identity",
                         "shared-credentials-file", "container-role", "iam-role"; a web identity
                         is not exchanged, the container and IMDS endpoints are asked)

boto3 signs with the test server's static key (aws_test_server.ACCESS_KEY_ID / SECRET).
"""

from __future__ import annotations

import base64
import os
import sys
from typing import Any, Dict

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "aliyun", "tests", "server"))

import loopback  # noqa: E402
import aws_test_server as srv  # noqa: E402


def kms_client(inp: Dict[str, Any]) -> Any:
    import boto3
    return boto3.client("kms", region_name=srv.REGION, endpoint_url="https://" + inp["endpoint"],
                        verify=inp["ca"], aws_access_key_id=srv.ACCESS_KEY_ID,
                        aws_secret_access_key=srv.SECRET)


def ctx(inp: Dict[str, Any]) -> Dict[str, Any]:
    c = inp.get("context")
    return {"EncryptionContext": c} if c else {}


def sign(inp: Dict[str, Any]) -> Dict[str, Any]:
    out = []
    for c in loopback.oracle_need(inp, "cases"):
        out.append(srv.botocore_authorization(
            c["method"], c["url"], c["headers"], base64.b64decode(c.get("body_b64", "")),
            c["access_key_id"], c["secret"], c.get("token"), c["region"], c["service"],
            c["amz_date"]))
    return {"authorizations": out}


def generate_data_key(inp: Dict[str, Any]) -> Dict[str, Any]:
    r = kms_client(inp).generate_data_key(KeyId=inp["key_id"], KeySpec=inp.get("spec", "AES_256"), **ctx(inp))
    return {"plaintext_b64": base64.b64encode(r["Plaintext"]).decode(),
            "blob_b64": base64.b64encode(r["CiphertextBlob"]).decode()}


def decrypt(inp: Dict[str, Any]) -> Dict[str, Any]:
    r = kms_client(inp).decrypt(CiphertextBlob=base64.b64decode(inp["blob_b64"]), **ctx(inp))
    return {"plaintext_b64": base64.b64encode(r["Plaintext"]).decode()}


def encrypt(inp: Dict[str, Any]) -> Dict[str, Any]:
    r = kms_client(inp).encrypt(KeyId=inp["key_id"], Plaintext=base64.b64decode(inp["plaintext_b64"]), **ctx(inp))
    return {"blob_b64": base64.b64encode(r["CiphertextBlob"]).decode()}


def assume_role_with_web_identity(inp: Dict[str, Any]) -> Dict[str, Any]:
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config
    sts = boto3.client("sts", region_name=srv.REGION, endpoint_url="https://" + inp["endpoint"],
                       verify=inp["ca"], config=Config(signature_version=UNSIGNED))
    r = sts.assume_role_with_web_identity(RoleArn=inp["role_arn"], RoleSessionName="oracle",
                                          WebIdentityToken=inp["token"])
    return {"access_key_id": r["Credentials"]["AccessKeyId"]}


def credential_source(inp: Dict[str, Any]) -> Dict[str, Any]:
    env = loopback.oracle_need(inp, "env")
    for name in list(os.environ):
        if name.startswith("AWS_") or name == "HOME":
            del os.environ[name]
    os.environ.update({str(k): str(v) for k, v in env.items()})
    import botocore.session
    creds = botocore.session.Session().get_credentials()
    return {"method": creds.method if creds is not None else None}


COMMANDS = {"sign": sign, "generate_data_key": generate_data_key, "decrypt": decrypt,
            "encrypt": encrypt, "assume_role_with_web_identity": assume_role_with_web_identity,
            "credential_source": credential_source}

if __name__ == "__main__":
    sys.exit(loopback.oracle_main(COMMANDS, "aws_oracle.py", None))
