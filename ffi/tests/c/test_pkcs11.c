/* PKCS#11 tokens (SPEC 5.3) through the C ABI, against a SoftHSM2 token made by
 * scripts/softhsm-token.sh. Usage: test_pkcs11 MODULE TOKEN PIN_FILE OLD_KEY NEW_KEY.
 * Run by scripts/test-ffi.sh under ASan + UBSan. The last part deletes the token (with
 * softhsm2-util, SOFTHSM2_CONF from the environment) while threads use it. */
#define _XOPEN_SOURCE 700

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nacoscrypt.h"
#include "test_util.h"

static nacoscrypt_kms_pkcs11_options options(const char *module, const char *token,
                                             const char *pin_file, const char *key) {
  nacoscrypt_kms_pkcs11_options o;
  memset(&o, 0, sizeof o);
  o.struct_size = sizeof o;
  o.module = module;
  o.token_label = token;
  o.pin_file = pin_file;
  o.default_key_label = key;
  return o;
}

/* 8 threads on one KMS: each encrypts and decrypts configs of its own tenant. */
static nacoscrypt_kms *g_kms;
static int g_thread_failures;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *arg) {
  char tenant[32];
  int i, bad = 0;
  snprintf(tenant, sizeof tenant, "tenant-%d", (int)(intptr_t)arg);
  for (i = 0; i < 25; i++) {
    nacoscrypt_config_id id = {"cipher-kms-aes-256-app", "G", NULL};
    const char *plain = "password=s3cret";
    char *content = NULL, *edk = NULL, *out = NULL;
    size_t n = 0, out_n = 0;
    id.tenant = tenant;
    if (nacoscrypt_config_encrypt(g_kms, &id, plain, strlen(plain), "", NACOSCRYPT_FORMAT_V1,
                                  &content, &n, &edk, NULL) != NACOSCRYPT_RESULT_OK ||
        nacoscrypt_config_decrypt(g_kms, &id, content, n, edk, &out, &out_n) !=
            NACOSCRYPT_RESULT_OK ||
        out_n != strlen(plain) || memcmp(out, plain, out_n) != 0) {
      bad++;
    }
    nacoscrypt_string_free(out);
    nacoscrypt_string_free(content);
    nacoscrypt_string_free(edk);
  }
  pthread_mutex_lock(&g_lock);
  g_thread_failures += bad;
  pthread_mutex_unlock(&g_lock);
  return NULL;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The token removed mid-run: threads decrypt until a call fails (or 20 s pass). */
static const char *g_blob;
static size_t g_blob_n;

struct removal_result {
  nacoscrypt_result rc;
  double slowest;
};

static void *removal_worker(void *arg) {
  struct removal_result *r = (struct removal_result *)arg;
  double started = now_seconds();
  r->rc = NACOSCRYPT_RESULT_OK;
  r->slowest = 0;
  while (r->rc == NACOSCRYPT_RESULT_OK && now_seconds() - started < 20) {
    uint8_t *plain = NULL;
    size_t plain_n = 0;
    double t = now_seconds();
    r->rc = nacoscrypt_kms_decrypt(g_kms, g_blob, g_blob_n, NULL, NULL, 0, &plain, &plain_n);
    if (now_seconds() - t > r->slowest) r->slowest = now_seconds() - t;
    nacoscrypt_bytes_free(plain);
  }
  return NULL;
}

int main(int argc, char **argv) {
  nacoscrypt_kms *kms = NULL, *rotated = NULL, *unchanged = (nacoscrypt_kms *)0x1;
  nacoscrypt_kms_pkcs11_options o;
  static const char *data_ids[3] = {"cipher-kms-aes-256-a", "cipher-kms-aes-128-b", "cipher-c"};
  char *old_content[6], *old_edk[6];
  size_t old_n[6];
  int i;
  if (argc != 6) {
    fprintf(stderr, "usage: %s MODULE TOKEN PIN_FILE OLD_KEY NEW_KEY\n", argv[0]);
    return 2;
  }

  /* Every scheme and format round-trips under the old key. */
  o = options(argv[1], argv[2], argv[3], argv[4]);
  CHECK_OK(nacoscrypt_kms_pkcs11_new(&o, &kms));
  for (i = 0; i < 6; i++) {
    nacoscrypt_config_id id = {NULL, "g", "dev"};
    const char *plain = "password=s3cret&<x>";
    char *out = NULL;
    size_t out_n = 0;
    id.data_id = data_ids[i % 3];
    old_content[i] = old_edk[i] = NULL;
    CHECK_OK(nacoscrypt_config_encrypt(kms, &id, plain, strlen(plain), "",
                                       i < 3 ? NACOSCRYPT_FORMAT_NACOS : NACOSCRYPT_FORMAT_V1,
                                       &old_content[i], &old_n[i], &old_edk[i], NULL));
    CHECK_OK(nacoscrypt_config_decrypt(kms, &id, old_content[i], old_n[i], old_edk[i], &out,
                                       &out_n));
    CHECK_STR(out, out_n, plain, strlen(plain));
    nacoscrypt_string_free(out);
  }

  /* Rotation: a KMS whose default is the new key still decrypts the old configs. */
  o = options(argv[1], argv[2], argv[3], argv[5]);
  CHECK_OK(nacoscrypt_kms_pkcs11_new(&o, &rotated));
  for (i = 0; i < 6; i++) {
    nacoscrypt_config_id id = {NULL, "g", "dev"};
    char *out = NULL;
    size_t out_n = 0;
    id.data_id = data_ids[i % 3];
    CHECK_OK(nacoscrypt_config_decrypt(rotated, &id, old_content[i], old_n[i], old_edk[i], &out,
                                       &out_n));
    CHECK_STR(out, out_n, "password=s3cret&<x>", strlen("password=s3cret&<x>"));
    nacoscrypt_string_free(out);
    /* Moved to another tenant, a v1 config does not authenticate. */
    if (i >= 3) {
      id.tenant = "prod";
      out = NULL;
      CHECK_RC(nacoscrypt_config_decrypt(rotated, &id, old_content[i], old_n[i], old_edk[i],
                                         &out, &out_n),
               NACOSCRYPT_RESULT_AUTHENTICATION_FAILED);
      CHECK(out == NULL);
    }
    nacoscrypt_string_free(old_content[i]);
    nacoscrypt_string_free(old_edk[i]);
  }

  /* The trait calls: a context bound as AAD; a missing key label; garbage. */
  {
    const char *names[1] = {"dataId"}, *values[1] = {"cipher-x"}, *other[1] = {"cipher-y"};
    char *blob = NULL;
    uint8_t *plain = NULL;
    size_t blob_n = 0, plain_n = 0;
    CHECK_OK(nacoscrypt_kms_encrypt(rotated, "", (const uint8_t *)"hello", 5, names, values, 1,
                                    &blob, &blob_n));
    CHECK_OK(nacoscrypt_kms_decrypt(rotated, blob, blob_n, names, values, 1, &plain, &plain_n));
    CHECK(plain_n == 5 && memcmp(plain, "hello", 5) == 0);
    nacoscrypt_bytes_free(plain);
    plain = NULL;
    CHECK_RC(nacoscrypt_kms_decrypt(rotated, blob, blob_n, names, other, 1, &plain, &plain_n),
             NACOSCRYPT_RESULT_AUTHENTICATION_FAILED);
    CHECK(plain == NULL);
    nacoscrypt_string_free(blob);
    blob = NULL;
    CHECK_RC(nacoscrypt_kms_encrypt(rotated, "no-such-key", (const uint8_t *)"x", 1, NULL, NULL,
                                    0, &blob, NULL),
             NACOSCRYPT_RESULT_UNKNOWN_KEY);
    CHECK(blob == NULL);
    CHECK_RC(nacoscrypt_kms_decrypt(rotated, "AQFr", 4, NULL, NULL, 0, &plain, &plain_n),
             NACOSCRYPT_RESULT_INVALID_BASE64);
    CHECK_RC(nacoscrypt_kms_decrypt(rotated, "not base64!", 11, NULL, NULL, 0, &plain, &plain_n),
             NACOSCRYPT_RESULT_INVALID_BASE64);
  }

  /* 8 threads share the pool of one KMS. */
  {
    pthread_t t[8];
    g_kms = rotated;
    for (i = 0; i < 8; i++) CHECK(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i) == 0);
    for (i = 0; i < 8; i++) CHECK(pthread_join(t[i], NULL) == 0);
    CHECK(g_thread_failures == 0);
  }
  nacoscrypt_kms_free(rotated);
  nacoscrypt_kms_free(kms);

  /* The PIN from an environment variable. */
  {
    char *pin = read_file(argv[3]);
    size_t len;
    CHECK(pin != NULL);
    if (pin != NULL) {
      len = strlen(pin);
      while (len > 0 && (pin[len - 1] == '\n' || pin[len - 1] == '\r')) pin[--len] = '\0';
      CHECK(setenv("NACOSCRYPT_TEST_PKCS11_PIN", pin, 1) == 0);
      free(pin);
    }
    o = options(argv[1], argv[2], NULL, argv[5]);
    o.pin_env = "NACOSCRYPT_TEST_PKCS11_PIN";
    kms = NULL;
    CHECK_OK(nacoscrypt_kms_pkcs11_new(&o, &kms));
    nacoscrypt_kms_free(kms);
    o.pin_env = "NACOSCRYPT_TEST_PKCS11_PIN_UNSET";
    kms = unchanged;
    CHECK_RC(nacoscrypt_kms_pkcs11_new(&o, &kms), NACOSCRYPT_RESULT_IO);
    CHECK(strstr(last_message(), "NACOSCRYPT_TEST_PKCS11_PIN_UNSET is not set") != NULL);
    CHECK(kms == unchanged);
  }

  /* A wrong PIN, a missing token, module or options: clean errors, the output untouched. */
  {
    const char *wrong = "wrong-pin.txt";
    FILE *f = fopen(wrong, "w");
    CHECK(f != NULL);
    if (f != NULL) {
      fputs("definitely-not-the-pin\n", f);
      fclose(f);
    }
    o = options(argv[1], argv[2], wrong, argv[5]);
    kms = unchanged;
    CHECK_RC(nacoscrypt_kms_pkcs11_new(&o, &kms), NACOSCRYPT_RESULT_KMS);
    CHECK(strstr(last_message(), "CKR_PIN_INCORRECT") != NULL);
    CHECK(strstr(last_message(), "definitely-not-the-pin") == NULL);
    CHECK(kms == unchanged);
    remove(wrong);

    o = options(argv[1], "no-such-token", argv[3], argv[5]);
    CHECK_RC(nacoscrypt_kms_pkcs11_new(&o, &kms), NACOSCRYPT_RESULT_KMS);
    CHECK(strstr(last_message(), "CKR_TOKEN_NOT_PRESENT") != NULL);
    o = options("/nonexistent/libpkcs11.so", argv[2], argv[3], argv[5]);
    CHECK_RC(nacoscrypt_kms_pkcs11_new(&o, &kms), NACOSCRYPT_RESULT_IO);
    o = options(argv[1], argv[2], argv[3], argv[5]);
    o.use_slot = true;
    CHECK_RC(nacoscrypt_kms_pkcs11_new(&o, &kms), NACOSCRYPT_RESULT_INVALID_ARGUMENT);
    o = options(NULL, argv[2], argv[3], argv[5]);
    CHECK_RC(nacoscrypt_kms_pkcs11_new(&o, &kms), NACOSCRYPT_RESULT_INVALID_ARGUMENT);
    o = options(argv[1], argv[2], argv[3], argv[5]);
    o.struct_size = 8;
    CHECK_RC(nacoscrypt_kms_pkcs11_new(&o, &kms), NACOSCRYPT_RESULT_INVALID_ARGUMENT);
    CHECK_RC(nacoscrypt_kms_pkcs11_new(NULL, &kms), NACOSCRYPT_RESULT_NULL_POINTER);
    CHECK(kms == unchanged);
  }

  /* Last: the token removed while 4 threads use it. Every thread sees a clean error (the
   * token gone, or emptied while it was being deleted: an unknown key), no call hangs; then
   * every call fails at once with CKR_TOKEN_NOT_PRESENT. A hang ends the test by SIGALRM. */
  {
    pthread_t t[4];
    struct removal_result results[4];
    char command[512], *blob = NULL;
    size_t blob_n = 0;
    uint8_t *plain = NULL;
    size_t plain_n = 0;
    alarm(60);
    o = options(argv[1], argv[2], argv[3], argv[5]);
    kms = NULL;
    CHECK_OK(nacoscrypt_kms_pkcs11_new(&o, &kms));
    CHECK_OK(nacoscrypt_kms_encrypt(kms, "", (const uint8_t *)"before", 6, NULL, NULL, 0, &blob,
                                    &blob_n));
    g_kms = kms;
    g_blob = blob;
    g_blob_n = blob_n;
    for (i = 0; i < 4; i++) CHECK(pthread_create(&t[i], NULL, removal_worker, &results[i]) == 0);
    {
      struct timespec pause = {0, 200 * 1000 * 1000};
      nanosleep(&pause, NULL);
    }
    snprintf(command, sizeof command, "softhsm2-util --delete-token --token '%s' >/dev/null",
             argv[2]);
    CHECK(system(command) == 0);
    for (i = 0; i < 4; i++) {
      CHECK(pthread_join(t[i], NULL) == 0);
      CHECK(results[i].rc == NACOSCRYPT_RESULT_KMS ||
            results[i].rc == NACOSCRYPT_RESULT_UNKNOWN_KEY);
      CHECK(results[i].slowest < 5.0);
    }
    for (i = 0; i < 3; i++) {
      double started = now_seconds();
      char *again = NULL;
      CHECK_RC(nacoscrypt_kms_decrypt(kms, blob, blob_n, NULL, NULL, 0, &plain, &plain_n),
               NACOSCRYPT_RESULT_KMS);
      CHECK(strstr(last_message(), "CKR_TOKEN_NOT_PRESENT") != NULL);
      CHECK(strstr(last_message(), argv[2]) != NULL);
      CHECK(plain == NULL);
      CHECK_RC(nacoscrypt_kms_encrypt(kms, "", (const uint8_t *)"x", 1, NULL, NULL, 0, &again,
                                      NULL),
               NACOSCRYPT_RESULT_KMS);
      CHECK(again == NULL);
      CHECK(now_seconds() - started < 5.0);
    }
    /* A KMS made now fails at once. */
    {
      nacoscrypt_kms *late = unchanged;
      CHECK_RC(nacoscrypt_kms_pkcs11_new(&o, &late), NACOSCRYPT_RESULT_KMS);
      CHECK(strstr(last_message(), "CKR_TOKEN_NOT_PRESENT") != NULL);
      CHECK(late == unchanged);
    }
    nacoscrypt_string_free(blob);
    nacoscrypt_kms_free(kms);
    alarm(0);
  }

  return test_summary("ffi-pkcs11");
}
