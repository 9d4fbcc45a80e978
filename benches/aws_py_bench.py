"""boto3 decrypting a data key against the loopback AWS KMS (moto behind the signature-checking
front): the peer row of the AWS KMS benchmark. Run by compare.py with the test server's ready
line as argv[1], in build/venv-aws; prints {bench id: seconds}."""

import json
import statistics
import sys
import time

import boto3

server = json.loads(sys.argv[1])
client = boto3.client(
    "kms", region_name="us-east-1", endpoint_url="https://" + server["kms"], verify=server["ca"],
    aws_access_key_id=server["access_key_id"], aws_secret_access_key=server["secret"],
)
blob = client.generate_data_key(KeyId="alias/nacos", KeySpec="AES_256")["CiphertextBlob"]
for _ in range(20):  # warm-up: connection, imports, caches
    client.decrypt(CiphertextBlob=blob)
samples = []
for _ in range(15):
    start = time.perf_counter()
    for _ in range(10):
        client.decrypt(CiphertextBlob=blob)
    samples.append((time.perf_counter() - start) / 10)
print(json.dumps({"kms_decrypt_data_key/boto3": statistics.median(samples)}))
