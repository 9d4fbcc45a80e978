"""The official transfer client (alibabacloud-kms-python-sdk over alibabacloud-dkms-gcs)
decrypting a data key on the loopback KMS instance test server: the peer row of the instance
benchmark. Run by compare.py in build/venv-dkms with the server's ready line as argv[1]."""

import json
import pathlib
import statistics
import sys
import time

server = json.loads(sys.argv[1])
oracle = pathlib.Path(__file__).resolve().parents[1] / "kms/aliyun/tests/server/instance_oracle.py"
sys.path.insert(0, str(oracle.parent))
import instance_oracle  # noqa: E402  (the oracle builds the official client exactly as tested)

base = {"endpoint": server["instance"], "ca": server["ca"],
        "client_key_file": server["client_key_good"],
        "password_file": server["client_key_good_password"]}
client = instance_oracle._transfer_client(base)
blob = instance_oracle.run("transfer_generate_data_key",
                           {**base, "key_id": "alias/acs/mse", "key_spec": "AES_256"})["CiphertextBlob"]
request = {**base, "ciphertext_blob": blob}


def decrypt() -> None:
    instance_oracle._t_decrypt(client, request)
for _ in range(20):
    decrypt()
samples = []
for _ in range(15):
    start = time.perf_counter()
    for _ in range(10):
        decrypt()
    samples.append((time.perf_counter() - start) / 10)
print(json.dumps({"kms_decrypt_data_key/official_transfer_client": statistics.median(samples)}))
