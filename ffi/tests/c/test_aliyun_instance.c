/* A KMS 3.0 instance (ClientKey, SPEC 5.2) through the C ABI, against the loopback instance
 * test server. Usage: test_aliyun_instance ENDPOINT CA_FILE CLIENT_KEY PASSWORD_FILE
 * EXPIRED_KEY EXPIRED_PASSWORD_FILE. Run by scripts/test-ffi.sh under ASan + UBSan. */
#define _XOPEN_SOURCE 700

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nacoscrypt.h"
#include "test_util.h"

int main(int argc, char **argv) {
  nacoscrypt_kms *kms = NULL, *unchanged = (nacoscrypt_kms *)0x1;
  nacoscrypt_kms_aliyun_instance_options o;
  char *ca;
  static const char *data_ids[3] = {"cipher-kms-aes-256-a", "cipher-kms-aes-128-b", "cipher-c"};
  int i;
  if (argc != 7) {
    fprintf(stderr, "usage: %s ENDPOINT CA KEY PASSWORD_FILE EXPIRED_KEY EXPIRED_PASSWORD\n", argv[0]);
    return 2;
  }
  ca = read_file(argv[2]);
  CHECK(ca != NULL);

  memset(&o, 0, sizeof o);
  o.struct_size = sizeof o;
  o.endpoint = argv[1];
  o.client_key_file = argv[3];
  o.client_key_password_file = argv[4];
  o.ca_pem = ca;
  CHECK_OK(nacoscrypt_kms_aliyun_instance_new(&o, &kms));
  for (i = 0; i < 6; i++) {
    nacoscrypt_config_id id = {NULL, "g", ""};
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
  nacoscrypt_kms_free(kms);

  /* From a properties text. */
  {
    char props[4096];
    int len = snprintf(props, sizeof props,
                       "kmsEndpoint=%s\nclientKeyFile=%s\nclientKeyPasswordFromFilePath=%s\n"
                       "kmsCaFile=%s\n",
                       argv[1], argv[3], argv[4], argv[2]);
    char *blob = NULL;
    CHECK_OK(nacoscrypt_kms_aliyun_instance_from_properties(props, (size_t)len, &kms));
    CHECK_OK(nacoscrypt_kms_encrypt(kms, "", (const uint8_t *)"x", 1, NULL, NULL, 0, &blob, NULL));
    nacoscrypt_string_free(blob);
    nacoscrypt_kms_free(kms);
  }

  /* An expired ClientKey: the service refuses it, with its code and status. */
  o.client_key_file = argv[5];
  o.client_key_password_file = argv[6];
  o.max_attempts = 1;
  CHECK_OK(nacoscrypt_kms_aliyun_instance_new(&o, &kms));
  {
    char *blob = NULL;
    CHECK_RC(nacoscrypt_kms_encrypt(kms, "alias/acs/mse", (const uint8_t *)"x", 1, NULL, NULL, 0,
                                    &blob, NULL),
             NACOSCRYPT_RESULT_KMS);
    CHECK(strstr(last_message(), "HTTP 401") != NULL);
    CHECK(blob == NULL);
  }
  nacoscrypt_kms_free(kms);

  /* A wrong password fails when the ClientKey is opened; a missing CA is an invalid setting. */
  o.client_key_file = argv[3];
  o.client_key_password_file = NULL;
  o.client_key_password = "not-the-password-7f3a";
  CHECK_RC(nacoscrypt_kms_aliyun_instance_new(&o, &unchanged), NACOSCRYPT_RESULT_KMS);
  CHECK(strstr(last_message(), "password") != NULL);
  CHECK(strstr(last_message(), "not-the-password-7f3a") == NULL);
  o.client_key_password = NULL;
  o.client_key_password_file = argv[4];
  o.ca_pem = NULL;
  CHECK_RC(nacoscrypt_kms_aliyun_instance_new(&o, &unchanged), NACOSCRYPT_RESULT_INVALID_SETTINGS);
  CHECK_RC(nacoscrypt_kms_aliyun_instance_new(NULL, &unchanged), NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK(unchanged == (nacoscrypt_kms *)0x1);
  free(ca);
  return test_summary("ffi-aliyun-instance");
}
