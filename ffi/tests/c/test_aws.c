/* AWS KMS (SPEC 5.3) through the C ABI, against the AWS test servers of kms/aws/tests/server
 * (moto behind a TLS front that checks every SigV4 signature with botocore), started once by
 * scripts/test-ffi.sh.
 *
 * Usage: test_aws KMS_HOSTPORT CA_FILE ACCESS_KEY_ID SECRET FIXTURES
 * FIXTURES: lines "blob_b64<TAB>plaintext_hex<TAB>context" of data keys made by boto3's
 * GenerateDataKey (context "" or "dataId=...;group=...;tenant=..."): they must unwrap here.
 * Run from a scratch folder (it writes a shared credentials file there) under ASan + UBSan. */
#define _XOPEN_SOURCE 700

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nacoscrypt.h"
#include "test_util.h"

static const char *g_endpoint, *g_ca, *g_akid, *g_secret;

static nacoscrypt_kms_aws_options base_options(void) {
  nacoscrypt_kms_aws_options o;
  memset(&o, 0, sizeof o);
  o.struct_size = sizeof o;
  o.region = "us-east-1";
  o.endpoint = g_endpoint;
  o.ca_pem = g_ca;
  o.access_key_id = g_akid;
  o.secret_access_key = g_secret;
  o.default_key_id = "alias/nacos";
  o.request_timeout_ms = 5000;
  return o;
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Encrypts `plain` for `id` in `format` and decrypts it back; 1 if it came back intact. */
static int round_trip(nacoscrypt_kms *kms, const nacoscrypt_config_id *id, const char *key_id,
                      const char *plain, nacoscrypt_format format) {
  char *content = NULL, *edk = NULL, *out = NULL;
  size_t n = 0, out_n = 0;
  int ok = 0;
  CHECK_OK(nacoscrypt_config_encrypt(kms, id, plain, strlen(plain), key_id, format, &content,
                                     &n, &edk, NULL));
  if (content != NULL) {
    CHECK_OK(nacoscrypt_config_decrypt(kms, id, content, n, edk, &out, &out_n));
    ok = out != NULL && out_n == strlen(plain) && memcmp(out, plain, out_n) == 0;
  }
  nacoscrypt_string_free(out);
  nacoscrypt_string_free(content);
  nacoscrypt_string_free(edk);
  return ok;
}

static int hex_equal(const uint8_t *bytes, size_t n, const char *hex) {
  size_t i;
  if (strlen(hex) != 2 * n) return 0;
  for (i = 0; i < n; i++) {
    unsigned v = 0;
    if (sscanf(hex + 2 * i, "%2x", &v) != 1 || v != bytes[i]) return 0;
  }
  return 1;
}

int main(int argc, char **argv) {
  nacoscrypt_kms *kms = NULL, *unchanged = (nacoscrypt_kms *)0x1;
  nacoscrypt_kms_aws_options o;
  char *ca, *fixtures, *line, *save = NULL;
  int i, unwrapped = 0;
  static const char *data_ids[3] = {"cipher-kms-aes-256-db.properties",
                                    "cipher-kms-aes-128-app.yaml", "cipher-token.json"};

  if (argc != 6) {
    fprintf(stderr, "usage: %s KMS CA ACCESS_KEY_ID SECRET FIXTURES\n", argv[0]);
    return 2;
  }
  ca = read_file(argv[2]);
  fixtures = read_file(argv[5]);
  CHECK(ca != NULL && fixtures != NULL);
  if (ca == NULL || fixtures == NULL) return test_summary("ffi-aws");
  g_endpoint = argv[1];
  g_ca = ca;
  g_akid = argv[3];
  g_secret = argv[4];

  o = base_options();
  CHECK_OK(nacoscrypt_kms_aws_new(&o, &kms));

  /* Envelope (both key sizes) and direct scheme, both formats; v1 binds the config id. */
  for (i = 0; i < 6; i++) {
    nacoscrypt_config_id id = {NULL, "DEFAULT_GROUP", "prod"};
    id.data_id = data_ids[i % 3];
    CHECK(round_trip(kms, &id, i % 2 ? "" : "alias/nacos", "password=s3cret&<x> \xe4\xb8\xad",
                     i < 3 ? NACOSCRYPT_FORMAT_NACOS : NACOSCRYPT_FORMAT_V1));
  }

  /* v1: the data key is wrapped under the config's context; moved to another group, AWS refuses
   * to unwrap it (InvalidCiphertextException). */
  {
    nacoscrypt_config_id id = {"cipher-kms-aes-256-db.properties", "g", "t"};
    nacoscrypt_config_id moved = {"cipher-kms-aes-256-db.properties", "other", "t"};
    const char *plain = "password=s3cret";
    char *content = NULL, *edk = NULL, *out = NULL;
    size_t n = 0, out_n = 0;
    CHECK_OK(nacoscrypt_config_encrypt(kms, &id, plain, strlen(plain), "alias/other",
                                       NACOSCRYPT_FORMAT_V1, &content, &n, &edk, NULL));
    CHECK_RC(nacoscrypt_config_decrypt(kms, &moved, content, n, edk, &out, &out_n),
             NACOSCRYPT_RESULT_AUTHENTICATION_FAILED);
    CHECK(out == NULL);
    CHECK_OK(nacoscrypt_config_decrypt(kms, &id, content, n, edk, &out, &out_n));
    CHECK_STR(out, out_n, plain, strlen(plain));
    nacoscrypt_string_free(out);
    nacoscrypt_string_free(content);
    nacoscrypt_string_free(edk);
  }

  /* Data keys wrapped by boto3's GenerateDataKey unwrap here to the same bytes. */
  for (line = strtok_r(fixtures, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
    char *s2 = NULL, *blob, *hex, *ctx;
    const char *names[3] = {"dataId", "group", "tenant"};
    const char *values[3] = {"cipher-kms-aes-256-db.properties", "DEFAULT_GROUP", "prod"};
    uint8_t *plain = NULL;
    size_t n = 0;
    blob = strtok_r(line, "\t", &s2);
    hex = strtok_r(NULL, "\t", &s2);
    ctx = strtok_r(NULL, "\t", &s2);
    CHECK(blob != NULL && hex != NULL);
    if (blob == NULL || hex == NULL) continue;
    CHECK_OK(nacoscrypt_kms_decrypt(kms, blob, strlen(blob), ctx ? names : NULL,
                                    ctx ? values : NULL, ctx ? 3 : 0, &plain, &n));
    CHECK(plain != NULL && hex_equal(plain, n, hex));
    nacoscrypt_bytes_free(plain);
    if (ctx != NULL) {
      /* The same blob without its context is refused. */
      CHECK_RC(nacoscrypt_kms_decrypt(kms, blob, strlen(blob), NULL, NULL, 0, &plain, &n),
               NACOSCRYPT_RESULT_AUTHENTICATION_FAILED);
    }
    unwrapped++;
  }
  CHECK(unwrapped == 2);

  /* Missing key ids: none at all is an argument error, one AWS does not know UNKNOWN_KEY. */
  {
    nacoscrypt_config_id id = {"cipher-kms-aes-256-db.properties", "g", ""};
    char *content = NULL, *edk = NULL;
    size_t n = 0;
    CHECK_RC(nacoscrypt_config_encrypt(kms, &id, "x=1", 3, "alias/no-such-key",
                                       NACOSCRYPT_FORMAT_NACOS, &content, &n, &edk, NULL),
             NACOSCRYPT_RESULT_UNKNOWN_KEY);
    CHECK(content == NULL && edk == NULL);
    nacoscrypt_kms_free(kms);
    o = base_options();
    o.default_key_id = NULL;
    CHECK_OK(nacoscrypt_kms_aws_new(&o, &kms));
    CHECK_RC(nacoscrypt_config_encrypt(kms, &id, "x=1", 3, "", NACOSCRYPT_FORMAT_NACOS, &content,
                                       &n, &edk, NULL),
             NACOSCRYPT_RESULT_INVALID_ARGUMENT);
    CHECK(strstr(last_message(), "key id") != NULL);
    nacoscrypt_kms_free(kms);
    kms = NULL;
  }

  /* A wrong secret: the front's signature check refuses it; the secret is never echoed. */
  {
    char *blob = NULL;
    o = base_options();
    o.secret_access_key = "not-the-secret-access-key";
    o.max_attempts = 1;
    CHECK_OK(nacoscrypt_kms_aws_new(&o, &kms));
    CHECK_RC(nacoscrypt_kms_encrypt(kms, "", (const uint8_t *)"x", 1, NULL, NULL, 0, &blob, NULL),
             NACOSCRYPT_RESULT_KMS);
    CHECK(strstr(last_message(), "InvalidSignatureException") != NULL);
    CHECK(strstr(last_message(), "not-the-secret-access-key") == NULL);
    CHECK(strstr(last_message(), g_secret) == NULL);
    CHECK(blob == NULL);
    nacoscrypt_kms_free(kms);
    kms = NULL;
  }

  /* Credentials from the standard chain: the environment, then a profile of the shared files. */
  {
    FILE *f;
    o = base_options();
    o.access_key_id = NULL;
    o.secret_access_key = NULL;
    setenv("AWS_ACCESS_KEY_ID", g_akid, 1);
    setenv("AWS_SECRET_ACCESS_KEY", g_secret, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    CHECK_OK(nacoscrypt_kms_aws_new(&o, &kms));
    {
      nacoscrypt_config_id id = {"cipher-kms-aes-256-env", "G", ""};
      CHECK(round_trip(kms, &id, "", "from the environment", NACOSCRYPT_FORMAT_V1));
    }
    nacoscrypt_kms_free(kms);
    o.credentials = NACOSCRYPT_AWS_CREDENTIALS_ENVIRONMENT;
    CHECK_OK(nacoscrypt_kms_aws_new(&o, &kms));
    {
      nacoscrypt_config_id id = {"cipher-env-only", "G", ""};
      CHECK(round_trip(kms, &id, "", "the environment only", NACOSCRYPT_FORMAT_NACOS));
    }
    nacoscrypt_kms_free(kms);
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");

    f = fopen("aws-credentials", "w");
    CHECK(f != NULL);
    if (f != NULL) {
      fprintf(f, "[default]\naws_access_key_id = AKIAWRONGWRONGWRONG0\naws_secret_access_key = x\n"
                 "[nacos-test]\naws_access_key_id = %s\naws_secret_access_key = %s\n",
              g_akid, g_secret);
      fclose(f);
    }
    setenv("AWS_SHARED_CREDENTIALS_FILE", "aws-credentials", 1);
    o.credentials = NACOSCRYPT_AWS_CREDENTIALS_DEFAULT_CHAIN;
    o.profile = "nacos-test";
    CHECK_OK(nacoscrypt_kms_aws_new(&o, &kms));
    {
      nacoscrypt_config_id id = {"cipher-kms-aes-128-profile", "G", ""};
      CHECK(round_trip(kms, &id, "", "from a profile", NACOSCRYPT_FORMAT_V1));
    }
    nacoscrypt_kms_free(kms);
    /* No source configured at all: a clean KMS error naming the credentials. */
    o.profile = NULL;
    o.credentials = NACOSCRYPT_AWS_CREDENTIALS_ENVIRONMENT;
    o.max_attempts = 1;
    CHECK_OK(nacoscrypt_kms_aws_new(&o, &kms));
    {
      char *blob = NULL;
      CHECK_RC(nacoscrypt_kms_encrypt(kms, "", (const uint8_t *)"x", 1, NULL, NULL, 0, &blob,
                                      NULL),
               NACOSCRYPT_RESULT_KMS);
      CHECK(strstr(last_message(), "credentials") != NULL);
    }
    nacoscrypt_kms_free(kms);
    kms = NULL;
    unsetenv("AWS_SHARED_CREDENTIALS_FILE");
    remove("aws-credentials");
  }

  /* A wrong endpoint (nothing listens there) ends in an error within the configured bounds. */
  {
    static const char *wrong[2] = {"127.0.0.1:1", "192.0.2.1:443"};
    for (i = 0; i < 2; i++) {
      char *blob = NULL;
      double start, took;
      o = base_options();
      o.endpoint = wrong[i];
      o.connect_timeout_ms = 300;
      o.request_timeout_ms = 600;
      o.max_attempts = 3;
      o.max_total_ms = 1000;
      CHECK_OK(nacoscrypt_kms_aws_new(&o, &kms));
      start = now_s();
      CHECK_RC(nacoscrypt_kms_encrypt(kms, "", (const uint8_t *)"x", 1, NULL, NULL, 0, &blob,
                                      NULL),
               NACOSCRYPT_RESULT_KMS);
      took = now_s() - start;
      CHECK(took < 4.0);
      if (took >= 4.0) fprintf(stderr, "  %s took %.2f s\n", wrong[i], took);
      CHECK(blob == NULL);
      nacoscrypt_kms_free(kms);
      kms = NULL;
    }
  }

  /* Bad options: clear errors, nothing written. */
  CHECK_RC(nacoscrypt_kms_aws_new(NULL, &unchanged), NACOSCRYPT_RESULT_NULL_POINTER);
  o = base_options();
  CHECK_RC(nacoscrypt_kms_aws_new(&o, NULL), NACOSCRYPT_RESULT_NULL_POINTER);
  o.struct_size = 8;
  CHECK_RC(nacoscrypt_kms_aws_new(&o, &unchanged), NACOSCRYPT_RESULT_INVALID_ARGUMENT);
  o = base_options();
  o.endpoint = "http://127.0.0.1:1";
  CHECK_RC(nacoscrypt_kms_aws_new(&o, &unchanged), NACOSCRYPT_RESULT_INVALID_ARGUMENT);
  CHECK(strstr(last_message(), "https") != NULL);
  o = base_options();
  o.secret_access_key = NULL;
  CHECK_RC(nacoscrypt_kms_aws_new(&o, &unchanged), NACOSCRYPT_RESULT_INVALID_ARGUMENT);
  o = base_options();
  o.credentials = NACOSCRYPT_AWS_CREDENTIALS_CONTAINER;
  CHECK_RC(nacoscrypt_kms_aws_new(&o, &unchanged), NACOSCRYPT_RESULT_INVALID_ARGUMENT);
  o = base_options();
  o.credentials = 99;
  CHECK_RC(nacoscrypt_kms_aws_new(&o, &unchanged), NACOSCRYPT_RESULT_INVALID_ARGUMENT);
  o = base_options();
  o.cache = 99;
  CHECK_RC(nacoscrypt_kms_aws_new(&o, &unchanged), NACOSCRYPT_RESULT_INVALID_ARGUMENT);
  o = base_options();
  o.ca_pem = "not a certificate";
  CHECK_RC(nacoscrypt_kms_aws_new(&o, &unchanged), NACOSCRYPT_RESULT_KMS);
  o = base_options();
  o.region = NULL;
  unsetenv("AWS_REGION");
  unsetenv("AWS_DEFAULT_REGION");
  setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config", 1);
  CHECK_RC(nacoscrypt_kms_aws_new(&o, &unchanged), NACOSCRYPT_RESULT_INVALID_ARGUMENT);
  CHECK(strstr(last_message(), "region") != NULL);
  CHECK(unchanged == (nacoscrypt_kms *)0x1);

  free(ca);
  free(fixtures);
  return test_summary("ffi-aws");
}
