/* Issue 12, hostile input through the C ABI: bounded placeholder expansion and properties
 * reads, NUL bytes, writers that refuse what their readers refuse, errors by real cause. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"

static char g_dir[64];

static const char *path_in_dir(const char *name) {
  static char path[256];
  snprintf(path, sizeof path, "%s/%s", g_dir, name);
  return path;
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* `D` levels of `W` placeholders each: expands to 44 * W^D bytes. */
static char *exponential(int depth, int width) {
  size_t cap = 256 + (size_t)depth * (size_t)width * 8 + 64;
  char *text = malloc(cap);
  size_t n = (size_t)snprintf(text, cap, "nacos.core.auth.plugin.nacos.token.secret.key=${p0}\n");
  for (int i = 0; i < depth; i++) {
    n += (size_t)snprintf(text + n, cap - n, "p%d=", i);
    for (int w = 0; w < width; w++) n += (size_t)snprintf(text + n, cap - n, "${p%d}", i + 1);
    n += (size_t)snprintf(text + n, cap - n, "\n");
  }
  snprintf(text + n, cap - n, "p%d=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", depth);
  return text;
}

static void test_properties(void) {
  nacoscrypt_auth_settings *settings = NULL;
  int shapes[2][2] = {{7, 10}, {4, 100}};
  for (int i = 0; i < 2; i++) {
    char *text = exponential(shapes[i][0], shapes[i][1]);
    CHECK(strlen(text) < 2200);
    double start = now_seconds();
    CHECK_RC(nacoscrypt_auth_settings_from_properties(text, strlen(text), &settings),
             NACOSCRYPT_RESULT_INVALID_SETTINGS);
    CHECK(now_seconds() - start < 2.0);
    CHECK(strstr(last_message(), "placeholders") != NULL);
    CHECK(settings == NULL);
    free(text);
  }

  /* A device and a FIFO: refused at once, never read or waited on. */
  double start = now_seconds();
  CHECK_RC(nacoscrypt_auth_settings_from_properties_file("/dev/zero", &settings),
           NACOSCRYPT_RESULT_IO);
  CHECK(strstr(last_message(), "character device") != NULL);
  const char *fifo = path_in_dir("fifo.properties");
  CHECK(mkfifo(fifo, 0600) == 0);
  CHECK_RC(nacoscrypt_auth_settings_from_properties_file(fifo, &settings), NACOSCRYPT_RESULT_IO);
  CHECK(strstr(last_message(), "FIFO") != NULL);
  CHECK(now_seconds() - start < 2.0);
  unlink(fifo);

  /* At the 4 MiB bound, then one byte over it. */
  const size_t max = (size_t)4 << 20;
  const char *head = "nacos.core.auth.server.identity.key=k\n";
  char *big = malloc(max + 2);
  memcpy(big, head, strlen(head));
  memset(big + strlen(head), '#', max + 1 - strlen(head));
  const char *path = path_in_dir("big.properties");
  for (int over = 0; over <= 1; over++) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL && fwrite(big, 1, max + (size_t)over, f) == max + (size_t)over);
    fclose(f);
    nacoscrypt_result rc = nacoscrypt_auth_settings_from_properties_file(path, &settings);
    if (over) {
      CHECK(rc == NACOSCRYPT_RESULT_INVALID_SETTINGS);
      CHECK(strstr(last_message(), "too large") != NULL);
    } else {
      CHECK(rc == NACOSCRYPT_RESULT_OK);
      nacoscrypt_auth_settings_free(settings);
      settings = NULL;
    }
  }
  unlink(path);
  free(big);
}

/* sub "a\u0000b", exp 4102444800, HS256 with 32 bytes of 0x11. */
static const char NUL_SUB_TOKEN[] =
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhXHUwMDAwYiIsImV4cCI6NDEwMjQ0NDgwMH0."
    "IWf8MmGFD1YHiEnQJHQs7ug_0MSaYYoO7q0fymqr39Q";

static void test_tokens(void) {
  uint8_t bytes[32];
  memset(bytes, 0x11, sizeof bytes);
  nacoscrypt_secret_key *key = NULL;
  nacoscrypt_token_manager *manager = NULL;
  CHECK_OK(nacoscrypt_secret_key_from_bytes(bytes, sizeof bytes, false, &key));
  CHECK_OK(nacoscrypt_token_manager_new(key, NULL, 0, 18000, 0, &manager));

  /* A validly signed token whose subject holds NUL: refused, never handed out cut short. */
  char *subject = NULL;
  size_t subject_len = 0;
  CHECK_RC(nacoscrypt_token_manager_verify(manager, NUL_SUB_TOKEN, strlen(NUL_SUB_TOKEN), 0,
                                           &subject, &subject_len, NULL),
           NACOSCRYPT_RESULT_INVALID_CLAIMS);
  CHECK(subject == NULL);
  CHECK(strstr(last_message(), "NUL") != NULL);

  /* A subject whose token would be too long to verify is refused when issuing, as verify
   * would refuse the token; one that fits round-trips. */
  char *long_subject = malloc(6201);
  memset(long_subject, 'u', 6200);
  long_subject[6200] = '\0';
  nacoscrypt_access_token *token = NULL;
  CHECK_RC(nacoscrypt_token_manager_issue(manager, long_subject, 0, &token),
           NACOSCRYPT_RESULT_MALFORMED_TOKEN);
  CHECK(strstr(last_message(), "longer than 8300 bytes") != NULL);
  char *signed_text = NULL;
  CHECK_RC(nacoscrypt_secret_key_sign(key, long_subject, 4102444800, &signed_text, NULL),
           NACOSCRYPT_RESULT_MALFORMED_TOKEN);
  CHECK(signed_text == NULL);
  long_subject[6000] = '\0';
  CHECK_OK(nacoscrypt_token_manager_issue(manager, long_subject, 0, &token));
  size_t len = 0;
  const char *text = nacoscrypt_access_token_text(token, &len);
  CHECK_OK(nacoscrypt_token_manager_verify(manager, text, len, 0, &subject, &subject_len, NULL));
  CHECK(subject_len == 6000 && strlen(subject) == subject_len);
  nacoscrypt_string_free(subject);
  nacoscrypt_access_token_free(token);
  free(long_subject);

  /* Over the length bound: the message names the bound, not the shape. */
  char *huge = malloc(9001);
  memset(huge, 'a', 9000);
  huge[9000] = '\0';
  CHECK_RC(nacoscrypt_token_manager_verify(manager, huge, 9000, 0, &subject, NULL, NULL),
           NACOSCRYPT_RESULT_MALFORMED_TOKEN);
  CHECK(strstr(last_message(), "longer than") != NULL);
  free(huge);

  /* A login response whose accessToken or username holds NUL. */
  const char *responses[] = {
      "{\"accessToken\":\"a\\u0000b\",\"tokenTtl\":5}",
      "{\"accessToken\":\"a.b.c\",\"tokenTtl\":5,\"username\":\"x\\u0000y\"}",
  };
  for (int i = 0; i < 2; i++) {
    nacoscrypt_login_response *response = NULL;
    CHECK_RC(nacoscrypt_login_response_parse(responses[i], strlen(responses[i]), &response),
             NACOSCRYPT_RESULT_INVALID_ARGUMENT);
    CHECK(response == NULL);
  }
  nacoscrypt_token_manager_free(manager);
  nacoscrypt_secret_key_free(key);
}

/* A callback KMS whose blobs hold a NUL byte. */
static nacoscrypt_result g_set_blob_rc;

static int nul_generate(void *userdata, const char *key_id, const char *spec,
                        const char *const *names, const char *const *values, size_t len,
                        nacoscrypt_kms_output *out) {
  (void)userdata, (void)key_id, (void)names, (void)values, (void)len;
  uint8_t key[32];
  memset(key, 7, sizeof key);
  nacoscrypt_kms_output_set_plaintext(out, key, strcmp(spec, "AES_128") == 0 ? 16 : 32);
  g_set_blob_rc = nacoscrypt_kms_output_set_ciphertext_blob(out, "blob\0tail", 9);
  return 0; /* a careless callback that ignores the refusal */
}

static int nul_encrypt(void *userdata, const char *key_id, const uint8_t *plaintext,
                       size_t plaintext_len, const char *const *names, const char *const *values,
                       size_t len, nacoscrypt_kms_output *out) {
  (void)userdata, (void)key_id, (void)plaintext, (void)plaintext_len, (void)names, (void)values,
      (void)len;
  g_set_blob_rc = nacoscrypt_kms_output_set_ciphertext_blob(out, "blob\0tail", 9);
  return 0;
}

static void test_kms(void) {
  nacoscrypt_kms_callbacks callbacks;
  memset(&callbacks, 0, sizeof callbacks);
  callbacks.generate_data_key = nul_generate;
  callbacks.encrypt = nul_encrypt;
  nacoscrypt_kms *kms = NULL;
  CHECK_OK(nacoscrypt_kms_from_callbacks(&callbacks, &kms));
  const char *ids[] = {"cipher-kms-aes-256-x", "cipher-x"};
  for (int i = 0; i < 2; i++) {
    nacoscrypt_config_id id = {ids[i], "g", ""};
    char *content = NULL, *edk = NULL;
    g_set_blob_rc = NACOSCRYPT_RESULT_OK;
    CHECK_RC(nacoscrypt_config_encrypt(kms, &id, "a=b", 3, "k", NACOSCRYPT_FORMAT_NACOS, &content,
                                       NULL, &edk, NULL),
             NACOSCRYPT_RESULT_KMS);
    CHECK(g_set_blob_rc == NACOSCRYPT_RESULT_INVALID_ARGUMENT);
    CHECK(content == NULL && edk == NULL);
  }
  nacoscrypt_kms_free(kms);

  /* The local KMS writes no blob it could not read back, and says why with one kind. */
  const char *keyring_text =
      "key alias/k 52f22665-a60c-42d2-a918-5d950ee88136 "
      "CRZvaxE9F41sD9OQH/I5oaCV8g+TlWUM+TgLjtsiSms=\n";
  nacoscrypt_keyring *keyring = NULL;
  CHECK_OK(nacoscrypt_keyring_parse(keyring_text, strlen(keyring_text), &keyring));
  CHECK_OK(nacoscrypt_kms_from_keyring(keyring, &kms));
  size_t big_len = (size_t)10 << 20;
  uint8_t *big = calloc(big_len, 1);
  char *blob = NULL;
  CHECK_RC(nacoscrypt_kms_encrypt(kms, "alias/k", big, big_len, NULL, NULL, 0, &blob, NULL),
           NACOSCRYPT_RESULT_CONTENT_TOO_LARGE);
  CHECK(blob == NULL);
  char *long_blob = malloc(((size_t)1 << 20) + 5);
  memset(long_blob, 'A', ((size_t)1 << 20) + 4);
  uint8_t *plain = NULL;
  size_t plain_len = 0;
  CHECK_RC(nacoscrypt_kms_decrypt(kms, long_blob, ((size_t)1 << 20) + 4, NULL, NULL, 0, &plain,
                                  &plain_len),
           NACOSCRYPT_RESULT_CONTENT_TOO_LARGE);
  CHECK(strstr(last_message(), "ciphertext blob too large") != NULL);

  /* Limits of SIZE_MAX: a stored content the KMS cannot read is still "content too large". */
  long_blob[((size_t)1 << 20) + 4] = '\0';
  nacoscrypt_limits unbounded = {SIZE_MAX, SIZE_MAX};
  nacoscrypt_config_id direct = {"cipher-x", "g", ""};
  char *out = NULL;
  CHECK_RC(nacoscrypt_config_decrypt_with_limits(kms, &direct, long_blob,
                                                 ((size_t)1 << 20) + 4, "", &unbounded, &out,
                                                 NULL),
           NACOSCRYPT_RESULT_CONTENT_TOO_LARGE);

  /* v1 content too short for a nonce and a tag: one kind whatever its length. */
  nacoscrypt_config_id envelope = {"cipher-kms-aes-256-x", "g", ""};
  char *content = NULL, *edk = NULL;
  CHECK_OK(nacoscrypt_config_encrypt(kms, &envelope, "a=b", 3, "alias/k", NACOSCRYPT_FORMAT_V1,
                                     &content, NULL, &edk, NULL));
  const char *short_contents[] = {"nc1:AAAA", "nc1:AAAAAAAAAAAAAAA=", "nc1:AAAAAAAAAAAAAAAA"};
  for (int i = 0; i < 3; i++) {
    CHECK_RC(nacoscrypt_config_decrypt(kms, &envelope, short_contents[i],
                                       strlen(short_contents[i]), edk, &out, NULL),
             NACOSCRYPT_RESULT_AUTHENTICATION_FAILED);
  }
  nacoscrypt_string_free(content);
  nacoscrypt_string_free(edk);
  free(long_blob);
  free(big);
  nacoscrypt_kms_free(kms);
  nacoscrypt_keyring_free(keyring);
}

int main(void) {
  snprintf(g_dir, sizeof g_dir, "%s", "/tmp/nacoscrypt-ffi-hostile-XXXXXX");
  if (mkdtemp(g_dir) == NULL) {
    perror("mkdtemp");
    return 2;
  }
  test_properties();
  test_tokens();
  test_kms();
  rmdir(g_dir);
#ifdef NACOSCRYPT_TESTING
  CHECK(nacoscrypt_test_live_objects() == 0);
#endif
  return test_summary("ffi-c-hostile");
}
