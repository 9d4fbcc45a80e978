"""The official Alibaba Cloud KMS Python SDK (alibabacloud-kms20160120) decrypting a data key
against the loopback test KMS: the peer row of the KMS benchmark. Run by compare.py with the
test server's ready line as argv[1], in build/venv-aliyun; prints {bench id: seconds}."""

import json
import statistics
import sys
import time

from alibabacloud_kms20160120 import models
from alibabacloud_kms20160120.client import Client
from alibabacloud_tea_openapi import models as open_api_models

server = json.loads(sys.argv[1])
client = Client(open_api_models.Config(
    access_key_id="LTAI5tTestAccessKeyId",
    access_key_secret="TestAccessKeySecret0123456789abc",
    endpoint=server["kms"], ca=server["ca"], protocol="https",
))
blob = client.generate_data_key(
    models.GenerateDataKeyRequest(key_id="alias/acs/mse", key_spec="AES_256")
).body.ciphertext_blob
request = models.DecryptRequest(ciphertext_blob=blob)
for _ in range(20):  # warm-up: connection, imports, caches
    client.decrypt(request)
samples = []
for _ in range(15):
    start = time.perf_counter()
    for _ in range(10):
        client.decrypt(request)
    samples.append((time.perf_counter() - start) / 10)
print(json.dumps({"kms_decrypt_data_key/official_python_sdk": statistics.median(samples)}))
