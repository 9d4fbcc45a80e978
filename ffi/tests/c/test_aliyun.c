/* Alibaba Cloud KMS through the C ABI, against the loopback test KMS (SPEC 5.1).
 *
 * Usage: test_aliyun KMS_HOSTPORT CA_FILE OTHER_CA_FILE FIXTURES
 * FIXTURES: lines "data_id<TAB>content<TAB>encryptedDataKey<TAB>plaintext" written by
 * nacos-sdk-python's own KMS plugins (through oracle.py) against the same server: they must
 * decrypt here byte for byte. Run by scripts/test-ffi.sh under ASan + UBSan. */
#define _XOPEN_SOURCE 700

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nacoscrypt.h"
#include "test_util.h"

#define AK "LTAI5tTestAccessKeyId"
#define SECRET "TestAccessKeySecret0123456789abc"

static nacoscrypt_kms_aliyun_options base_options(const char *endpoint, const char *ca) {
  nacoscrypt_kms_aliyun_options o;
  memset(&o, 0, sizeof o);
  o.struct_size = sizeof o;
  o.endpoint = endpoint;
  o.access_key_id = AK;
  o.access_key_secret = SECRET;
  o.ca_pem = ca;
  o.request_timeout_ms = 3000;
  return o;
}

int main(int argc, char **argv) {
  nacoscrypt_kms *kms = NULL, *unchanged = (nacoscrypt_kms *)0x1;
  nacoscrypt_kms_aliyun_options o;
  char *ca, *other_ca, *fixtures, *line, *save = NULL;
  int decrypted = 0;
  static const char *data_ids[3] = {"cipher-kms-aes-256-db.properties",
                                    "cipher-kms-aes-128-app.yaml", "cipher-token.json"};
  int i;

  if (argc != 5) {
    fprintf(stderr, "usage: %s KMS CA OTHER_CA FIXTURES\n", argv[0]);
    return 2;
  }
  ca = read_file(argv[2]);
  other_ca = read_file(argv[3]);
  fixtures = read_file(argv[4]);
  CHECK(ca != NULL && other_ca != NULL && fixtures != NULL);

  o = base_options(argv[1], ca);
  CHECK_OK(nacoscrypt_kms_aliyun_new(&o, &kms));

  /* Configs written by nacos-sdk-python's own plugins decrypt here, byte for byte. */
  for (line = strtok_r(fixtures, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
    char *f[4];
    char *s2 = NULL, *out = NULL;
    size_t n = 0;
    int k;
    nacoscrypt_config_id id;
    f[0] = strtok_r(line, "\t", &s2);
    for (k = 1; k < 4; k++) f[k] = strtok_r(NULL, "\t", &s2);
    if (f[3] == NULL) {
      /* the direct scheme has an empty encryptedDataKey: "id\tcontent\t\tplain" */
      CHECK(f[2] != NULL);
      f[3] = f[2];
      f[2] = "";
    }
    id.data_id = f[0];
    id.group = "DEFAULT_GROUP";
    id.tenant = "";
    CHECK_OK(nacoscrypt_config_decrypt(kms, &id, f[1], strlen(f[1]), f[2], &out, &n));
    CHECK_STR(out, n, f[3], strlen(f[3]));
    nacoscrypt_string_free(out);
    decrypted++;
  }
  CHECK(decrypted == 3);

  /* Round trips in every scheme and both formats through the C ABI. */
  for (i = 0; i < 6; i++) {
    nacoscrypt_config_id id = {NULL, "g", "t"};
    const char *plain = "password=s3cret&<x>";
    char *content = NULL, *edk = NULL, *out = NULL;
    size_t n = 0, out_n = 0;
    id.data_id = data_ids[i % 3];
    CHECK_OK(nacoscrypt_config_encrypt(kms, &id, plain, strlen(plain), "alias/acs/mse",
                                       i < 3 ? NACOSCRYPT_FORMAT_NACOS : NACOSCRYPT_FORMAT_V1,
                                       &content, &n, &edk, NULL));
    CHECK_OK(nacoscrypt_config_decrypt(kms, &id, content, n, edk, &out, &out_n));
    CHECK_STR(out, out_n, plain, strlen(plain));
    nacoscrypt_string_free(out);
    nacoscrypt_string_free(content);
    nacoscrypt_string_free(edk);
  }

  /* A service error: the last error names the code, the HTTP status and the request id. */
  {
    uint8_t *plain = NULL;
    size_t n = 0;
    CHECK_RC(nacoscrypt_kms_decrypt(kms, "bm90IGEgYmxvYg==", 16, NULL, NULL, 0, &plain, &n),
             NACOSCRYPT_RESULT_KMS);
    CHECK(strstr(last_message(), "Alibaba Cloud KMS Decrypt") != NULL);
    CHECK(strstr(last_message(), "HTTP 400") != NULL);
    CHECK(strstr(last_message(), "request id") != NULL);
    CHECK(strstr(last_message(), SECRET) == NULL);
  }
  nacoscrypt_kms_free(kms);

  /* Wrong CA: a TLS failure, never a silent downgrade. */
  o = base_options(argv[1], other_ca);
  o.max_attempts = 1;
  CHECK_OK(nacoscrypt_kms_aliyun_new(&o, &kms));
  {
    char *blob = NULL;
    CHECK_RC(nacoscrypt_kms_encrypt(kms, "alias/acs/mse", (const uint8_t *)"x", 1, NULL, NULL, 0,
                                    &blob, NULL),
             NACOSCRYPT_RESULT_KMS);
    CHECK(strstr(last_message(), "Tls") != NULL);
    CHECK(blob == NULL);
  }
  nacoscrypt_kms_free(kms);

  /* From a properties text with the Java names. */
  {
    char props[8192];
    int len = snprintf(props, sizeof props,
                       "kmsEndpoint=%s\naccessKey=" AK "\nsecretKey=" SECRET
                       "\nkeyId=alias/test\nkmsCaFile=%s\n",
                       argv[1], argv[2]);
    char *blob = NULL;
    uint8_t *plain = NULL;
    size_t n = 0;
    CHECK_OK(nacoscrypt_kms_aliyun_from_properties(props, (size_t)len, &kms));
    CHECK_OK(nacoscrypt_kms_encrypt(kms, "", (const uint8_t *)"hi", 2, NULL, NULL, 0, &blob, NULL));
    CHECK_OK(nacoscrypt_kms_decrypt(kms, blob, strlen(blob), NULL, NULL, 0, &plain, &n));
    CHECK(n == 2 && memcmp(plain, "hi", 2) == 0);
    nacoscrypt_bytes_free(plain);
    nacoscrypt_string_free(blob);
    nacoscrypt_kms_free(kms);
    CHECK_RC(nacoscrypt_kms_aliyun_from_properties("OpenKMS=false\nRegionId=x\n", 26, &unchanged),
             NACOSCRYPT_RESULT_INVALID_SETTINGS);
  }

  /* Bad options: clear errors, nothing written. */
  CHECK_RC(nacoscrypt_kms_aliyun_new(NULL, &unchanged), NACOSCRYPT_RESULT_NULL_POINTER);
  o = base_options(argv[1], ca);
  CHECK_RC(nacoscrypt_kms_aliyun_new(&o, NULL), NACOSCRYPT_RESULT_NULL_POINTER);
  o.struct_size = 8;
  CHECK_RC(nacoscrypt_kms_aliyun_new(&o, &unchanged), NACOSCRYPT_RESULT_INVALID_ARGUMENT);
  o = base_options("http://127.0.0.1:1", ca);
  CHECK_RC(nacoscrypt_kms_aliyun_new(&o, &unchanged), NACOSCRYPT_RESULT_INVALID_ARGUMENT);
  CHECK(strstr(last_message(), "https") != NULL);
  o = base_options(argv[1], ca);
  o.access_key_secret = NULL;
  CHECK_RC(nacoscrypt_kms_aliyun_new(&o, &unchanged), NACOSCRYPT_RESULT_INVALID_ARGUMENT);
  o = base_options(NULL, ca);
  CHECK_RC(nacoscrypt_kms_aliyun_new(&o, &unchanged), NACOSCRYPT_RESULT_INVALID_ARGUMENT);
  o = base_options(argv[1], "not a certificate");
  CHECK_RC(nacoscrypt_kms_aliyun_new(&o, &unchanged), NACOSCRYPT_RESULT_KMS);
  CHECK(unchanged == (nacoscrypt_kms *)0x1);

  free(ca);
  free(other_ca);
  free(fixtures);
  return test_summary("ffi-aliyun");
}
