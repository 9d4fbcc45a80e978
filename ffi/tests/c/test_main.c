/* The C test suite of libnacoscrypt (C99): every vector of tokens.json, config-nacos-ecb.json
 * (through a callback KMS that hands out the vector's data key) and config-local-kms.json, and
 * every error path reachable from C. Linked once against the shared library and once against
 * the static one; run under AddressSanitizer + UBSan with leak detection.
 *
 * Build: see scripts/test-ffi.sh. Needs `vectors.h` (gen_vectors.py) and `plugin_corpus.h`
 * (gen_plugin_corpus.py: server plugin configs made by Python `cryptography`) on the include
 * path. */
#define _XOPEN_SOURCE 700

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nacoscrypt.h"
#include "plugin_corpus.h"
#include "test_util.h"
#include "vectors.h"

#ifndef SUITE_NAME
#define SUITE_NAME "ffi-c"
#endif

static const char KEY32_B64[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
static char g_dir[256];

/* ---------------------------------------------------------------------------------------- */
/* Helpers                                                                                   */
/* ---------------------------------------------------------------------------------------- */

static char *path_in_dir(const char *name) {
  static char buf[8][512];
  static int next = 0;
  char *p = buf[next++ % 8];
  snprintf(p, 512, "%s/%s", g_dir, name);
  return p;
}

static void write_file(const char *path, const char *text, size_t len, mode_t mode) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
  CHECK(fd >= 0);
  if (fd < 0) return;
  CHECK(write(fd, text, len) == (ssize_t)len);
  close(fd);
  CHECK(chmod(path, mode) == 0);
}

static nacoscrypt_keyring *parse_keyring(const char *text, size_t len) {
  nacoscrypt_keyring *k = NULL;
  CHECK_OK(nacoscrypt_keyring_parse(text, len, &k));
  return k;
}

static nacoscrypt_kms *kms_of(const nacoscrypt_keyring *k) {
  nacoscrypt_kms *kms = NULL;
  CHECK_OK(nacoscrypt_kms_from_keyring(k, &kms));
  return kms;
}

static nacoscrypt_secret_key *key_from_b64(const char *text) {
  nacoscrypt_secret_key *key = NULL;
  CHECK_OK(nacoscrypt_secret_key_from_base64(text, true, &key));
  return key;
}

static nacoscrypt_token_manager *manager_of(const nacoscrypt_secret_key *key) {
  nacoscrypt_token_manager *m = NULL;
  CHECK_OK(nacoscrypt_token_manager_new(key, NULL, 0, 0, 0, &m));
  return m;
}

/* Decrypts through `kms` and checks the plaintext. */
static void check_decrypts(const nacoscrypt_kms *kms, const nacoscrypt_config_id *id,
                           const char *content, size_t content_len, const char *edk,
                           const char *want, size_t want_len) {
  char *plain = NULL;
  size_t n = 0;
  CHECK_OK(nacoscrypt_config_decrypt(kms, id, content, content_len, edk, &plain, &n));
  CHECK_STR(plain, n, want, want_len);
  nacoscrypt_string_free(plain);
}

/* ---------------------------------------------------------------------------------------- */
/* The test callback KMS                                                                     */
/* ---------------------------------------------------------------------------------------- */

typedef struct {
  const uint8_t *key; /* the data key it hands out */
  size_t key_len;
  const char *key_blob; /* the blob standing for that key */
  int fail_code;        /* non-zero: every callback fails with it */
  const char *fail_message;
  int set_nothing;      /* return 0 without setting any output */
  int bad_utf8_blob;    /* try to set a blob that is not UTF-8 */
  int *destroyed;       /* incremented by the destructor */
  int calls;
  /* the last context seen */
  size_t ctx_len;
  char ctx[3][2][64];
  int ctx_arrays_null;
  char spec[16];
} test_kms;

static void record_context(test_kms *t, const char *const *names, const char *const *values,
                           size_t len) {
  size_t i;
  t->calls++;
  t->ctx_len = len;
  t->ctx_arrays_null = names == NULL && values == NULL;
  for (i = 0; i < len && i < 3; i++) {
    snprintf(t->ctx[i][0], sizeof t->ctx[i][0], "%s", names[i]);
    snprintf(t->ctx[i][1], sizeof t->ctx[i][1], "%s", values[i]);
  }
}

/* "@" followed by the context values joined with ",": binds the test blobs to the context. */
static void context_suffix(char *out, size_t cap, const char *const *values, size_t len) {
  size_t i;
  snprintf(out, cap, "@");
  for (i = 0; i < len; i++) {
    size_t used = strlen(out);
    snprintf(out + used, cap - used, "%s%s", i ? "," : "", values[i]);
  }
}

static int fail_if_asked(test_kms *t, nacoscrypt_kms_output *out) {
  if (t->fail_code != 0) {
    if (t->fail_message != NULL) {
      CHECK_OK(nacoscrypt_kms_output_set_error_message(out, t->fail_message));
    }
    return t->fail_code;
  }
  return 0;
}

static int cb_generate(void *userdata, const char *key_id, const char *key_spec,
                       const char *const *names, const char *const *values, size_t len,
                       nacoscrypt_kms_output *out) {
  test_kms *t = (test_kms *)userdata;
  int rc;
  (void)key_id;
  record_context(t, names, values, len);
  snprintf(t->spec, sizeof t->spec, "%s", key_spec);
  if ((rc = fail_if_asked(t, out)) != 0) return rc;
  if (t->set_nothing) return 0;
  if (nacoscrypt_kms_output_set_plaintext(out, t->key, t->key_len) != NACOSCRYPT_RESULT_OK) {
    return 1;
  }
  if (t->bad_utf8_blob) {
    CHECK_RC(nacoscrypt_kms_output_set_ciphertext_blob(out, "\xff\xfe", 2),
             NACOSCRYPT_RESULT_INVALID_UTF8_INPUT);
    return 0; /* without a blob: the library must notice */
  }
  return nacoscrypt_kms_output_set_ciphertext_blob(out, t->key_blob, strlen(t->key_blob)) ==
                 NACOSCRYPT_RESULT_OK
             ? 0
             : 2;
}

static int cb_encrypt(void *userdata, const char *key_id, const uint8_t *plaintext,
                      size_t plaintext_len, const char *const *names,
                      const char *const *values, size_t len, nacoscrypt_kms_output *out) {
  test_kms *t = (test_kms *)userdata;
  char blob[1024];
  size_t i, used;
  int rc;
  (void)key_id;
  record_context(t, names, values, len);
  if ((rc = fail_if_asked(t, out)) != 0) return rc;
  if (t->set_nothing) return 0;
  if (plaintext_len > 400) return 3;
  snprintf(blob, sizeof blob, "hex:");
  for (i = 0; i < plaintext_len; i++) {
    used = strlen(blob);
    snprintf(blob + used, sizeof blob - used, "%02x", plaintext[i]);
  }
  used = strlen(blob);
  context_suffix(blob + used, sizeof blob - used, values, len);
  return nacoscrypt_kms_output_set_ciphertext_blob(out, blob, strlen(blob)) ==
                 NACOSCRYPT_RESULT_OK
             ? 0
             : 4;
}

static int cb_decrypt(void *userdata, const char *blob, size_t blob_len,
                      const char *const *names, const char *const *values, size_t len,
                      nacoscrypt_kms_output *out) {
  test_kms *t = (test_kms *)userdata;
  char suffix[512];
  uint8_t plain[512];
  size_t n = 0;
  const char *at, *p;
  int rc;
  record_context(t, names, values, len);
  CHECK(strlen(blob) == blob_len);
  if ((rc = fail_if_asked(t, out)) != 0) return rc;
  if (t->set_nothing) return 0;
  if (t->key_blob != NULL && strcmp(blob, t->key_blob) == 0) {
    return nacoscrypt_kms_output_set_plaintext(out, t->key, t->key_len) == NACOSCRYPT_RESULT_OK
               ? 0
               : 5;
  }
  if (strncmp(blob, "hex:", 4) != 0 || (at = strchr(blob, '@')) == NULL) {
    CHECK_OK(nacoscrypt_kms_output_set_error_message(out, "unknown blob"));
    return 99;
  }
  context_suffix(suffix, sizeof suffix, values, len);
  if (strcmp(at, suffix) != 0) {
    CHECK_OK(nacoscrypt_kms_output_set_error_message(out, "context mismatch"));
    return 77;
  }
  for (p = blob + 4; p + 1 < at && n < sizeof plain; p += 2) {
    unsigned int byte;
    if (sscanf(p, "%2x", &byte) != 1) return 6;
    plain[n++] = (uint8_t)byte;
  }
  return nacoscrypt_kms_output_set_plaintext(out, plain, n) == NACOSCRYPT_RESULT_OK ? 0 : 7;
}

static void cb_destroy(void *userdata) {
  test_kms *t = (test_kms *)userdata;
  if (t->destroyed != NULL) (*t->destroyed)++;
}

static nacoscrypt_kms *callback_kms(test_kms *t) {
  nacoscrypt_kms_callbacks cbs;
  nacoscrypt_kms *kms = NULL;
  memset(&cbs, 0, sizeof cbs);
  cbs.userdata = t;
  cbs.generate_data_key = cb_generate;
  cbs.encrypt = cb_encrypt;
  cbs.decrypt = cb_decrypt;
  cbs.destroy = cb_destroy;
  CHECK_OK(nacoscrypt_kms_from_callbacks(&cbs, &kms));
  return kms;
}

/* ---------------------------------------------------------------------------------------- */
/* Basics: version, result codes, last error, the panic boundary                             */
/* ---------------------------------------------------------------------------------------- */

static void test_basics(void) {
  size_t n = 99;
  char small[4];
#ifdef EXPECTED_VERSION
  CHECK_CSTR(nacoscrypt_version(), EXPECTED_VERSION);
#endif
  CHECK(nacoscrypt_version() != NULL && strlen(nacoscrypt_version()) >= 5);
  CHECK_CSTR(nacoscrypt_result_message(NACOSCRYPT_RESULT_OK), "success");
  CHECK_CSTR(nacoscrypt_result_message(NACOSCRYPT_RESULT_TOKEN_EXPIRED), "token expired");
  CHECK_CSTR(nacoscrypt_result_message(123456), "unknown result code");
  CHECK_CSTR(nacoscrypt_result_nacos_message(NACOSCRYPT_RESULT_TOKEN_EXPIRED), "token expired!");
  CHECK_CSTR(nacoscrypt_result_nacos_message(NACOSCRYPT_RESULT_INVALID_SIGNATURE),
             "Invalid signature");
  CHECK(nacoscrypt_result_nacos_message(NACOSCRYPT_RESULT_BAD_PADDING) == NULL);
  CHECK(nacoscrypt_result_nacos_message(99999) == NULL);
  CHECK(nacoscrypt_result_is_token_error(NACOSCRYPT_RESULT_MALFORMED_TOKEN));
  CHECK(!nacoscrypt_result_is_token_error(NACOSCRYPT_RESULT_KMS));
  CHECK(NACOSCRYPT_RESULT_PANIC == 1004 && NACOSCRYPT_RESULT_KMS == 3002 &&
        NACOSCRYPT_RESULT_TOKEN_EXPIRED == 5005);

  /* A success leaves no last error. */
  CHECK_OK(nacoscrypt_last_error_message(small, sizeof small, &n));
  CHECK(n == 0 && small[0] == '\0');
  CHECK(nacoscrypt_last_error_code() == NACOSCRYPT_RESULT_OK);
  CHECK(nacoscrypt_last_kms_error_code() == 0);
  CHECK(nacoscrypt_last_error_nacos_message() == NULL);

  /* A failure's detail: truncated into a small buffer, full size reported. */
  CHECK_RC(nacoscrypt_keyring_parse("key x", 5, NULL), NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK(nacoscrypt_last_error_code() == NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_RC(nacoscrypt_last_error_message(small, sizeof small, &n),
           NACOSCRYPT_RESULT_BUFFER_TOO_SMALL);
  CHECK(n == strlen("argument `keyring_out` is NULL"));
  CHECK(strlen(small) == 3);
  CHECK_RC(nacoscrypt_last_error_message(NULL, 0, &n), NACOSCRYPT_RESULT_BUFFER_TOO_SMALL);
  CHECK_RC(nacoscrypt_last_error_message(NULL, 10, &n), NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_RC(nacoscrypt_last_error_message(small, SIZE_MAX, &n), NACOSCRYPT_RESULT_INVALID_LENGTH);
  CHECK_CSTR(last_message(), "argument `keyring_out` is NULL");

#ifdef NACOSCRYPT_TESTING
  /* A panic inside the library comes back as a result code, with its message. */
  CHECK_RC(nacoscrypt_test_panic(), NACOSCRYPT_RESULT_PANIC);
  CHECK(nacoscrypt_last_error_code() == NACOSCRYPT_RESULT_PANIC);
  CHECK(strstr(last_message(), "forced panic") != NULL);
  /* ... and the library keeps working afterwards. */
  CHECK_RC(nacoscrypt_test_panic(), NACOSCRYPT_RESULT_PANIC);
#endif
  {
    nacoscrypt_limits l = nacoscrypt_limits_nacos();
    CHECK(l.envelope == 51200 && l.direct == 6144);
  }
  CHECK(nacoscrypt_config_is_encrypted_data_id("cipher-x"));
  CHECK(!nacoscrypt_config_is_encrypted_data_id("application.yaml"));
  CHECK(!nacoscrypt_config_is_encrypted_data_id(NULL));
  nacoscrypt_string_free(NULL);
  nacoscrypt_bytes_free(NULL);
}

/* ---------------------------------------------------------------------------------------- */
/* tokens.json                                                                               */
/* ---------------------------------------------------------------------------------------- */

static void test_secret_key_vectors(void) {
  size_t i;
  for (i = 0; i < VEC_COUNT(SECRET_KEY_VECTORS); i++) {
    const secret_key_vector *v = &SECRET_KEY_VECTORS[i];
    nacoscrypt_secret_key *key = (nacoscrypt_secret_key *)0x1;
    nacoscrypt_secret_key *original = key;
    CHECK_RC(nacoscrypt_secret_key_from_base64(v->secret.s, true, &key), v->expect);
    if (v->expect == NACOSCRYPT_RESULT_OK) {
      char *text = NULL;
      size_t n = 0;
      CHECK(nacoscrypt_secret_key_algorithm(key) == v->algorithm);
      CHECK(nacoscrypt_secret_key_bits(key) == v->bits);
      CHECK_OK(nacoscrypt_secret_key_to_base64(key, &text, &n));
      CHECK_STR(text, n, v->decoded_base64.s, v->decoded_base64.len);
      nacoscrypt_string_free(text);
      nacoscrypt_secret_key_free(key);
    } else {
      CHECK(key == original); /* outputs are written only on success */
      CHECK(strlen(last_message()) > 0);
    }
  }
  /* The publicly known keys of the Nacos docs need the explicit opt-in. */
  {
    nacoscrypt_secret_key *key = NULL;
    CHECK_RC(nacoscrypt_secret_key_from_base64("VGhpc0lzTXlDdXN0b21TZWNyZXRLZXkwMTIzNDU2Nzg=",
                                               false, &key),
             NACOSCRYPT_RESULT_PUBLICLY_KNOWN_KEY);
    CHECK_RC(nacoscrypt_secret_key_from_base64(
                 "SecretKey012345678901234567890123456789012345678901234567890123456789", false,
                 &key),
             NACOSCRYPT_RESULT_PUBLICLY_KNOWN_KEY);
    CHECK(key == NULL);
    CHECK(strstr(last_message(), "publicly known") != NULL);
  }
}

static void test_sign_vectors(void) {
  size_t i;
  for (i = 0; i < VEC_COUNT(SIGN_VECTORS); i++) {
    const sign_vector *v = &SIGN_VECTORS[i];
    nacoscrypt_secret_key *key = key_from_b64(v->secret.s);
    nacoscrypt_token_manager *m = manager_of(key);
    char *token = NULL, *sub = NULL;
    size_t n = 0, sub_n = 0;
    int64_t exp = 0;
    CHECK(nacoscrypt_secret_key_algorithm(key) == v->algorithm);
    CHECK_OK(nacoscrypt_secret_key_sign(key, v->sub.s, v->exp, &token, &n));
    CHECK_STR(token, n, v->token.s, v->token.len);
    /* The manager verifies it at its expiry, with the exact subject. */
    CHECK_OK(nacoscrypt_token_manager_verify(m, v->token.s, v->token.len, v->exp, &sub, &sub_n,
                                             &exp));
    CHECK_STR(sub, sub_n, v->sub.s, v->sub.len);
    CHECK(exp == v->exp);
    nacoscrypt_string_free(sub);
    nacoscrypt_string_free(token);
    nacoscrypt_token_manager_free(m);
    nacoscrypt_secret_key_free(key);
  }
}

static void test_verify_vectors(void) {
  size_t i;
  for (i = 0; i < VEC_COUNT(VERIFY_VECTORS); i++) {
    const verify_vector *v = &VERIFY_VECTORS[i];
    nacoscrypt_secret_key *key = key_from_b64(v->secret.s);
    nacoscrypt_token_manager *m = manager_of(key);
    nacoscrypt_token_cache *cache = NULL;
    char *sub = (char *)0x1;
    int64_t exp = -1;
    nacoscrypt_result rc = nacoscrypt_token_manager_verify(m, v->token.s, v->token.len, v->now,
                                                           &sub, NULL, &exp);
    if (rc != v->expect) fprintf(stderr, "verify vector \"%s\"\n", v->name.s);
    CHECK_RC(rc, v->expect);
    if (v->expect == NACOSCRYPT_RESULT_OK) {
      CHECK_CSTR(sub, "nacos");
      CHECK(exp == INT64_C(4102444800));
      nacoscrypt_string_free(sub);
    } else {
      CHECK(sub == (char *)0x1 && exp == -1);
      CHECK(nacoscrypt_result_is_token_error(rc));
      if (v->nacos_message != NULL) {
        CHECK_CSTR(nacoscrypt_last_error_nacos_message(), v->nacos_message);
      }
      CHECK(nacoscrypt_last_error_nacos_message() != NULL);
    }
    /* Through the cache: the same answer, twice (the second from the cache when valid). */
    CHECK_OK(nacoscrypt_token_cache_new(m, &cache));
    CHECK_RC(nacoscrypt_token_cache_verify(cache, v->token.s, v->token.len, v->now, NULL, NULL,
                                           NULL),
             v->expect);
    CHECK_RC(nacoscrypt_token_cache_verify(cache, v->token.s, v->token.len, v->now, NULL, NULL,
                                           NULL),
             v->expect);
    CHECK(nacoscrypt_token_cache_verified_count(cache) ==
          (v->expect == NACOSCRYPT_RESULT_OK ? 1u : 0u));
    nacoscrypt_token_cache_free(cache);
    nacoscrypt_token_manager_free(m);
    nacoscrypt_secret_key_free(key);
  }
}

/* ---------------------------------------------------------------------------------------- */
/* Token API                                                                                 */
/* ---------------------------------------------------------------------------------------- */

static void test_token_api(void) {
  nacoscrypt_secret_key *old_key = NULL, *new_key = NULL, *other = NULL, *gen = NULL;
  nacoscrypt_token_manager *old_m = NULL, *m = NULL, *m384 = NULL;
  nacoscrypt_access_token *t = NULL, *old_t = NULL, *now_t = NULL;
  const nacoscrypt_secret_key *previous[1];
  uint8_t bytes48[48];
  const char *text;
  size_t n = 0;
  char *json = NULL, *sub = NULL;
  int64_t exp = 0;

  memset(bytes48, 7, sizeof bytes48);
  CHECK_OK(nacoscrypt_secret_key_from_base64(KEY32_B64, false, &old_key));
  CHECK_OK(nacoscrypt_secret_key_generate(&new_key));
  CHECK(nacoscrypt_secret_key_algorithm(new_key) == NACOSCRYPT_ALGORITHM_HS256);
  CHECK_OK(nacoscrypt_secret_key_from_bytes(bytes48, sizeof bytes48, false, &other));
  CHECK(nacoscrypt_secret_key_algorithm(other) == NACOSCRYPT_ALGORITHM_HS384);
  CHECK_RC(nacoscrypt_secret_key_from_bytes(bytes48, 31, false, &gen),
           NACOSCRYPT_RESULT_SECRET_KEY_TOO_SHORT);
  CHECK(strstr(last_message(), "248 bits") != NULL);
  CHECK(nacoscrypt_secret_key_algorithm(NULL) == 0 && nacoscrypt_secret_key_bits(NULL) == 0);
  /* generate -> base64 -> the same key back */
  {
    char *b64 = NULL;
    nacoscrypt_secret_key *again = NULL;
    char *b64_again = NULL;
    CHECK_OK(nacoscrypt_secret_key_to_base64(new_key, &b64, NULL));
    CHECK_OK(nacoscrypt_secret_key_from_base64(b64, false, &again));
    CHECK_OK(nacoscrypt_secret_key_to_base64(again, &b64_again, NULL));
    CHECK(strcmp(b64, b64_again) == 0);
    nacoscrypt_string_free(b64);
    nacoscrypt_string_free(b64_again);
    nacoscrypt_secret_key_free(again);
  }

  /* Rotation: a manager with the new key and the old one as previous verifies both. */
  CHECK_OK(nacoscrypt_token_manager_new(old_key, NULL, 0, 600, 0, &old_m));
  CHECK(nacoscrypt_token_manager_validity(old_m) == 600);
  CHECK_OK(nacoscrypt_token_manager_issue(old_m, "alice", 1000, &old_t));
  previous[0] = old_key;
  CHECK_OK(nacoscrypt_token_manager_new(new_key, previous, 1, 0, 30, &m));
  CHECK(nacoscrypt_token_manager_validity(m) == 18000);
  CHECK(nacoscrypt_token_manager_leeway(m) == 30);
  CHECK(nacoscrypt_token_manager_validity(NULL) == 0);
  CHECK_OK(nacoscrypt_token_manager_issue(m, "nacos", 1000, &t));
  CHECK(nacoscrypt_access_token_ttl(t) == 18000);
  CHECK(nacoscrypt_access_token_expires_at(t) == 19000);
  CHECK_CSTR(nacoscrypt_access_token_subject(t, &n), "nacos");
  CHECK(n == 5);
  text = nacoscrypt_access_token_text(t, &n);
  CHECK(text != NULL && strlen(text) == n && strncmp(text, "eyJhbGciOiJIUzI1NiJ9.", 21) == 0);
  CHECK(nacoscrypt_access_token_text(NULL, &n) == NULL);
  CHECK(nacoscrypt_access_token_ttl(NULL) == 0);
  CHECK_OK(nacoscrypt_token_manager_verify(m, text, n, 19030, &sub, NULL, &exp)); /* leeway */
  CHECK_CSTR(sub, "nacos");
  CHECK(exp == 19000);
  nacoscrypt_string_free(sub);
  CHECK_RC(nacoscrypt_token_manager_verify(m, text, n, 19031, NULL, NULL, NULL),
           NACOSCRYPT_RESULT_TOKEN_EXPIRED);
  CHECK_CSTR(nacoscrypt_last_error_nacos_message(), "token expired!");
  {
    const char *old_text = nacoscrypt_access_token_text(old_t, &n);
    size_t sub_len = 0;
    CHECK_OK(nacoscrypt_token_manager_verify(m, old_text, n, 1500, NULL, &sub_len, NULL));
    CHECK(sub_len == 5); /* "alice" */
    /* The old manager does not know the new key. */
    text = nacoscrypt_access_token_text(t, &n);
    CHECK_RC(nacoscrypt_token_manager_verify(old_m, text, n, 1500, NULL, NULL, NULL),
             NACOSCRYPT_RESULT_INVALID_SIGNATURE);
    /* An HS384 manager refuses an HS256 token by its header. */
    CHECK_OK(nacoscrypt_token_manager_new(other, NULL, 0, 0, 0, &m384));
    CHECK_RC(nacoscrypt_token_manager_verify(m384, old_text, strlen(old_text), 1500, NULL, NULL,
                                             NULL),
             NACOSCRYPT_RESULT_UNSUPPORTED_ALGORITHM);
  }
  /* Blank and malformed tokens, with the server's two messages. */
  CHECK_RC(nacoscrypt_token_manager_verify(m, "  ", 2, 0, NULL, NULL, NULL),
           NACOSCRYPT_RESULT_MALFORMED_TOKEN);
  CHECK_CSTR(nacoscrypt_last_error_nacos_message(), "user not found!");
  CHECK_RC(nacoscrypt_token_manager_verify(m, "a..b", 4, 0, NULL, NULL, NULL),
           NACOSCRYPT_RESULT_MALFORMED_TOKEN);
  CHECK_CSTR(nacoscrypt_last_error_nacos_message(), "token invalid!");
  /* A token given with its length: no NUL needed, and a NUL inside is just a bad token. */
  text = nacoscrypt_access_token_text(t, &n);
  CHECK_RC(nacoscrypt_token_manager_verify(m, text, n - 1, 1000, NULL, NULL, NULL),
           NACOSCRYPT_RESULT_INVALID_SIGNATURE);
  CHECK_RC(nacoscrypt_token_manager_verify(m, "a.\0.c", 5, 0, NULL, NULL, NULL),
           NACOSCRYPT_RESULT_UNSUPPORTED_ALGORITHM);
  /* Argument errors. */
  CHECK_RC(nacoscrypt_token_manager_verify(NULL, text, n, 0, NULL, NULL, NULL),
           NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_RC(nacoscrypt_token_manager_verify(m, NULL, 0, 0, NULL, NULL, NULL),
           NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_RC(nacoscrypt_token_manager_verify(m, text, SIZE_MAX, 0, NULL, NULL, NULL),
           NACOSCRYPT_RESULT_INVALID_LENGTH);
  CHECK_RC(nacoscrypt_token_manager_verify(m, text, (size_t)PTRDIFF_MAX + 1, 0, NULL, NULL, NULL),
           NACOSCRYPT_RESULT_INVALID_LENGTH);
  CHECK_RC(nacoscrypt_token_manager_verify(m, "\xff.a.b", 5, 0, NULL, NULL, NULL),
           NACOSCRYPT_RESULT_INVALID_UTF8_INPUT);
  CHECK(strstr(last_message(), "token") != NULL);
  CHECK_RC(nacoscrypt_token_manager_new(NULL, NULL, 0, 0, 0, &old_m),
           NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_RC(nacoscrypt_token_manager_new(new_key, NULL, 1, 0, 0, &old_m),
           NACOSCRYPT_RESULT_NULL_POINTER);
  {
    const nacoscrypt_secret_key *with_null[2];
    nacoscrypt_token_manager *unchanged = (nacoscrypt_token_manager *)0x1;
    with_null[0] = old_key;
    with_null[1] = NULL;
    CHECK_RC(nacoscrypt_token_manager_new(new_key, with_null, 2, 0, 0, &unchanged),
             NACOSCRYPT_RESULT_NULL_POINTER);
    CHECK(unchanged == (nacoscrypt_token_manager *)0x1);
    CHECK_RC(nacoscrypt_token_manager_new(new_key, NULL, 0, UINT64_MAX, 0, &unchanged),
             NACOSCRYPT_RESULT_INVALID_ARGUMENT);
    CHECK_RC(nacoscrypt_token_manager_new(new_key, NULL, 0, 0, 0, NULL),
             NACOSCRYPT_RESULT_NULL_POINTER);
  }
  CHECK_RC(nacoscrypt_token_manager_issue(m, NULL, 0, &now_t), NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_RC(nacoscrypt_token_manager_issue(m, "nacos", INT64_MAX, &now_t),
           NACOSCRYPT_RESULT_INVALID_ARGUMENT);
  CHECK_RC(nacoscrypt_token_manager_issue(m, "\xc3", 0, &now_t),
           NACOSCRYPT_RESULT_INVALID_UTF8_INPUT);
  CHECK_RC(nacoscrypt_secret_key_from_base64(NULL, false, &gen), NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_RC(nacoscrypt_secret_key_generate(NULL), NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_RC(nacoscrypt_secret_key_sign(NULL, "x", 0, &json, NULL), NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_RC(nacoscrypt_secret_key_sign(old_key, "x", 0, NULL, NULL),
           NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_RC(nacoscrypt_secret_key_to_base64(NULL, &json, NULL), NACOSCRYPT_RESULT_NULL_POINTER);

  /* The clock variants. */
  CHECK_OK(nacoscrypt_token_manager_issue_now(m, "nacos", &now_t));
  text = nacoscrypt_access_token_text(now_t, &n);
  CHECK_OK(nacoscrypt_token_manager_verify_now(m, text, n, NULL, NULL, &exp));
  CHECK(exp == nacoscrypt_access_token_expires_at(now_t));
  CHECK_RC(nacoscrypt_token_manager_verify_now(m, "x", 1, NULL, NULL, NULL),
           NACOSCRYPT_RESULT_MALFORMED_TOKEN);

  /* Login JSON of an issued token. */
  CHECK_OK(nacoscrypt_access_token_login_json(t, true, &json, &n));
  {
    char want[512];
    snprintf(want, sizeof want,
             "{\"accessToken\":\"%s\",\"tokenTtl\":18000,\"globalAdmin\":true,\"username\":\"nacos\"}",
             nacoscrypt_access_token_text(t, NULL));
    CHECK_STR(json, n, want, strlen(want));
  }
  nacoscrypt_string_free(json);
  CHECK_RC(nacoscrypt_access_token_login_json(NULL, true, &json, &n),
           NACOSCRYPT_RESULT_NULL_POINTER);

  nacoscrypt_access_token_free(now_t);
  nacoscrypt_access_token_free(old_t);
  nacoscrypt_access_token_free(t);
  nacoscrypt_access_token_free(NULL);
  nacoscrypt_token_manager_free(m384);
  nacoscrypt_token_manager_free(old_m);
  nacoscrypt_token_manager_free(m);
  nacoscrypt_token_manager_free(NULL);
  nacoscrypt_secret_key_free(other);
  nacoscrypt_secret_key_free(new_key);
  nacoscrypt_secret_key_free(old_key);
  nacoscrypt_secret_key_free(NULL);
}

static void test_cache(void) {
  nacoscrypt_secret_key *key = key_from_b64(KEY32_B64);
  nacoscrypt_token_manager *m = manager_of(key);
  nacoscrypt_token_cache *cache = NULL;
  nacoscrypt_access_token *first = NULL, *again = NULL, *later = NULL;
  const int64_t t0 = INT64_C(1000); /* Unix seconds */
  char *sub = NULL;
  size_t n;

  CHECK_OK(nacoscrypt_token_cache_new(m, &cache));
  CHECK_RC(nacoscrypt_token_cache_new(NULL, &cache), NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_OK(nacoscrypt_token_cache_issue(cache, "nacos", t0, &first));
  CHECK(nacoscrypt_access_token_ttl(first) == 18000);
  CHECK_OK(nacoscrypt_token_cache_issue(cache, "nacos", t0 + 60, &again));
  CHECK(strcmp(nacoscrypt_access_token_text(first, NULL), nacoscrypt_access_token_text(again, NULL)) == 0);
  CHECK(nacoscrypt_access_token_ttl(again) == 17940);
  CHECK(nacoscrypt_token_cache_login_count(cache) == 1);
  {
    /* The deprecated login takes milliseconds, rounded down to the second. */
    nacoscrypt_access_token *old_style = NULL;
    CHECK_OK(nacoscrypt_token_cache_login(cache, "nacos", (t0 + 120) * 1000 + 999, &old_style));
    CHECK(strcmp(nacoscrypt_access_token_text(first, NULL), nacoscrypt_access_token_text(old_style, NULL)) == 0);
    CHECK(nacoscrypt_access_token_ttl(old_style) == 17880);
    nacoscrypt_access_token_free(old_style);
  }
  CHECK_OK(nacoscrypt_token_cache_issue(cache, "nacos", t0 + 16200, &later));
  CHECK(strcmp(nacoscrypt_access_token_text(first, NULL), nacoscrypt_access_token_text(later, NULL)) != 0);
  {
    const char *text = nacoscrypt_access_token_text(later, &n);
    CHECK_OK(nacoscrypt_token_cache_verify(cache, text, n, 17200, &sub, NULL, NULL));
    CHECK_CSTR(sub, "nacos");
    nacoscrypt_string_free(sub);
    CHECK(nacoscrypt_token_cache_verified_count(cache) == 1);
    /* Issued in 1970: long expired by the clock, cached or not. */
    CHECK_RC(nacoscrypt_token_cache_verify_now(cache, text, n, NULL, NULL, NULL),
             NACOSCRYPT_RESULT_TOKEN_EXPIRED);
    CHECK_RC(nacoscrypt_token_cache_verify(cache, NULL, 0, 0, NULL, NULL, NULL),
             NACOSCRYPT_RESULT_NULL_POINTER);
  }
  CHECK_OK(nacoscrypt_token_cache_invalidate_user(cache, "nacos"));
  CHECK(nacoscrypt_token_cache_login_count(cache) == 0);
  CHECK_RC(nacoscrypt_token_cache_invalidate_user(cache, NULL), NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_OK(nacoscrypt_token_cache_evict_expired(cache, INT64_C(4000000000)));
  CHECK(nacoscrypt_token_cache_verified_count(cache) == 0);
  {
    nacoscrypt_access_token *now_t = NULL;
    const char *text;
    CHECK_OK(nacoscrypt_token_cache_issue_now(cache, "admin", &now_t));
    text = nacoscrypt_access_token_text(now_t, &n);
    CHECK_OK(nacoscrypt_token_cache_verify_now(cache, text, n, NULL, NULL, NULL));
    nacoscrypt_access_token_free(now_t);
  }
  CHECK_OK(nacoscrypt_token_cache_clear(cache));
  CHECK(nacoscrypt_token_cache_login_count(cache) == 0 &&
        nacoscrypt_token_cache_verified_count(cache) == 0);
  CHECK(nacoscrypt_token_cache_login_count(NULL) == 0);
  CHECK_RC(nacoscrypt_token_cache_clear(NULL), NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_RC(nacoscrypt_token_cache_issue(cache, "nacos", 0, NULL), NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_RC(nacoscrypt_token_cache_issue(NULL, "nacos", 0, &first), NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_RC(nacoscrypt_token_cache_login(cache, "nacos", 0, NULL), NACOSCRYPT_RESULT_NULL_POINTER);

  nacoscrypt_access_token_free(first);
  nacoscrypt_access_token_free(again);
  nacoscrypt_access_token_free(later);
  nacoscrypt_token_cache_free(cache);
  nacoscrypt_token_cache_free(NULL);
  nacoscrypt_token_manager_free(m);
  nacoscrypt_secret_key_free(key);
}

static void test_identity(void) {
  nacoscrypt_server_identity *id = NULL, *unchanged = (nacoscrypt_server_identity *)0x1;
  bool matches = false;
  const char *names[3] = {"accept", "x-nacos-peer", "X-Nacos-Peer"};
  const char *values[3] = {"*/*", "d2f8c0e7a1b9", "other"};

  CHECK_OK(nacoscrypt_server_identity_new("X-Nacos-Peer", "d2f8c0e7a1b9", false, &id));
  CHECK_OK(nacoscrypt_server_identity_matches_header(id, "x-nacos-peer", "d2f8c0e7a1b9", &matches));
  CHECK(matches);
  CHECK_OK(nacoscrypt_server_identity_matches_header(id, "X-Nacos-Peer", "D2F8C0E7A1B9", &matches));
  CHECK(!matches);
  CHECK_OK(nacoscrypt_server_identity_matches_header(id, "X-Other", "d2f8c0e7a1b9", &matches));
  CHECK(!matches);
  CHECK_OK(nacoscrypt_server_identity_matches_headers(id, names, values, 3, &matches));
  CHECK(matches); /* the first header of that name decides */
  CHECK_OK(nacoscrypt_server_identity_matches_headers(id, names + 2, values + 2, 1, &matches));
  CHECK(!matches);
  CHECK_OK(nacoscrypt_server_identity_matches_headers(id, NULL, NULL, 0, &matches));
  CHECK(!matches);
  CHECK_RC(nacoscrypt_server_identity_matches_headers(id, NULL, values, 1, &matches),
           NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_OK(nacoscrypt_server_identity_matches_value(id, "d2f8c0e7a1b9", 12, &matches));
  CHECK(matches);
  CHECK_OK(nacoscrypt_server_identity_matches_value(id, "d2f8c0e7a1b9", 11, &matches));
  CHECK(!matches);
  CHECK_RC(nacoscrypt_server_identity_matches_header(id, "a", "b", NULL),
           NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_RC(nacoscrypt_server_identity_matches_header(NULL, "a", "b", &matches),
           NACOSCRYPT_RESULT_NULL_POINTER);

  CHECK_RC(nacoscrypt_server_identity_new("serverIdentity", "security", false, &unchanged),
           NACOSCRYPT_RESULT_PUBLICLY_KNOWN_KEY);
  CHECK_RC(nacoscrypt_server_identity_new("", "v", false, &unchanged),
           NACOSCRYPT_RESULT_INVALID_IDENTITY);
  CHECK_RC(nacoscrypt_server_identity_new("k", "  ", false, &unchanged),
           NACOSCRYPT_RESULT_INVALID_IDENTITY);
  CHECK_RC(nacoscrypt_server_identity_new(NULL, "v", false, &unchanged),
           NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK(unchanged == (nacoscrypt_server_identity *)0x1);
  nacoscrypt_server_identity_free(id);
  id = NULL;
  CHECK_OK(nacoscrypt_server_identity_new("serverIdentity", "security", true, &id));
  nacoscrypt_server_identity_free(id);
  nacoscrypt_server_identity_free(NULL);
}

static void test_login_json_and_settings(void) {
  char *json = NULL;
  size_t n = 0;
  nacoscrypt_login_response *r = NULL;
  const char want[] =
      "{\"accessToken\":\"a.b.c\",\"tokenTtl\":18000,\"globalAdmin\":false,\"username\":\"na\\\"cos\"}";

  CHECK_OK(nacoscrypt_login_json_write("a.b.c", 18000, false, "na\"cos", &json, &n));
  CHECK_STR(json, n, want, strlen(want));
  CHECK_OK(nacoscrypt_login_response_parse(json, n, &r));
  CHECK_CSTR(nacoscrypt_login_response_access_token(r, &n), "a.b.c");
  CHECK(n == 5);
  CHECK_CSTR(nacoscrypt_login_response_username(r, NULL), "na\"cos");
  CHECK(nacoscrypt_login_response_token_ttl(r) == 18000);
  CHECK(!nacoscrypt_login_response_global_admin(r));
  CHECK(nacoscrypt_login_response_access_token(NULL, NULL) == NULL);
  nacoscrypt_login_response_free(r);
  nacoscrypt_string_free(json);
  r = (nacoscrypt_login_response *)0x1;
  CHECK_RC(nacoscrypt_login_response_parse("{\"tokenTtl\":5}", 14, &r),
           NACOSCRYPT_RESULT_INVALID_ARGUMENT);
  CHECK(strstr(last_message(), "accessToken") != NULL);
  CHECK_RC(nacoscrypt_login_response_parse("[1]", 3, &r), NACOSCRYPT_RESULT_INVALID_ARGUMENT);
  CHECK_RC(nacoscrypt_login_response_parse(NULL, 3, &r), NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK(r == (nacoscrypt_login_response *)0x1);
  CHECK_RC(nacoscrypt_login_json_write(NULL, 1, false, "u", &json, NULL),
           NACOSCRYPT_RESULT_NULL_POINTER);
  nacoscrypt_login_response_free(NULL);

  /* Refresh timing. */
  CHECK(nacoscrypt_token_refresh_at_ms(1000, 18000) == 1000 + INT64_C(16200000));
  CHECK(!nacoscrypt_token_needs_refresh(1000, 18000, INT64_C(16200999)));
  CHECK(nacoscrypt_token_needs_refresh(1000, 18000, INT64_C(16201000)));

  /* Settings from application.properties. */
  {
    const char props[] =
        "nacos.core.auth.enabled=true\n"
        "nacos.core.auth.plugin.nacos.token.secret.key=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
        "nacos.core.auth.plugin.nacos.token.expire.seconds = 3600\n"
        "nacos.core.auth.plugin.nacos.token.cache.enable=true\n"
        "nacos.core.auth.server.identity.key: X-Peer\n"
        "nacos.core.auth.server.identity.value  d2f8c0e7a1b9\n";
    nacoscrypt_auth_settings *s = NULL;
    nacoscrypt_token_manager *m = NULL;
    nacoscrypt_server_identity *id = NULL;
    bool matches = false;
    CHECK_OK(nacoscrypt_auth_settings_from_properties(props, strlen(props), &s));
    CHECK(nacoscrypt_auth_settings_expire_seconds(s) == 3600);
    CHECK(nacoscrypt_auth_settings_cache_enabled(s));
    CHECK_OK(nacoscrypt_auth_settings_token_manager(s, false, &m));
    CHECK(nacoscrypt_token_manager_validity(m) == 3600);
    CHECK_OK(nacoscrypt_auth_settings_server_identity(s, false, &id));
    CHECK_OK(nacoscrypt_server_identity_matches_header(id, "x-peer", "d2f8c0e7a1b9", &matches));
    CHECK(matches);
    nacoscrypt_server_identity_free(id);
    nacoscrypt_token_manager_free(m);
    nacoscrypt_auth_settings_free(s);
    s = NULL;
    m = NULL;
    CHECK_OK(nacoscrypt_auth_settings_from_properties("a=b\n", 4, &s));
    CHECK(nacoscrypt_auth_settings_expire_seconds(s) == 18000);
    CHECK_RC(nacoscrypt_auth_settings_token_manager(s, false, &m),
             NACOSCRYPT_RESULT_INVALID_SETTINGS);
    CHECK(m == NULL);
    CHECK_RC(nacoscrypt_auth_settings_server_identity(s, false, &id),
             NACOSCRYPT_RESULT_INVALID_IDENTITY);
    nacoscrypt_auth_settings_free(s);
    s = NULL;
    {
      const char bad_props[] = "nacos.core.auth.plugin.nacos.token.expire.seconds=soon\n";
      CHECK_RC(nacoscrypt_auth_settings_from_properties(bad_props, strlen(bad_props), &s),
               NACOSCRYPT_RESULT_INVALID_SETTINGS);
    }
    CHECK(s == NULL);
    CHECK_OK(nacoscrypt_auth_settings_from_env(&s));
    nacoscrypt_auth_settings_free(s);
    s = NULL;
    write_file(path_in_dir("application.properties"), props, strlen(props), 0600);
    CHECK_OK(nacoscrypt_auth_settings_from_properties_file(path_in_dir("application.properties"), &s));
    CHECK(nacoscrypt_auth_settings_expire_seconds(s) == 3600);
    nacoscrypt_auth_settings_free(s);
    s = NULL;
    CHECK_RC(nacoscrypt_auth_settings_from_properties_file(path_in_dir("missing.properties"), &s),
             NACOSCRYPT_RESULT_IO);
    CHECK(nacoscrypt_auth_settings_expire_seconds(NULL) == 0);
    nacoscrypt_auth_settings_free(NULL);
    unlink(path_in_dir("application.properties"));
  }
}

/* ---------------------------------------------------------------------------------------- */
/* config-nacos-ecb.json: through a callback KMS handing out the vector's data key            */
/* ---------------------------------------------------------------------------------------- */

static void test_ecb_vectors(void) {
  size_t i;
  for (i = 0; i < VEC_COUNT(ECB_VECTORS); i++) {
    const ecb_vector *v = &ECB_VECTORS[i];
    int destroyed = 0;
    test_kms t;
    nacoscrypt_kms *kms;
    nacoscrypt_config_id id;
    char *content = NULL, *edk = NULL, *plain = NULL;
    size_t n = 0, edk_n = 0;

    memset(&t, 0, sizeof t);
    t.key = (const uint8_t *)v->data_key.s;
    t.key_len = v->data_key.len;
    t.key_blob = "vector-data-key";
    t.destroyed = &destroyed;
    kms = callback_kms(&t);
    id.data_id = v->data_key.len == 32 ? "cipher-kms-aes-256-vector.properties"
                                       : "cipher-kms-aes-128-vector.properties";
    id.group = "DEFAULT_GROUP";
    id.tenant = "";

    /* Decrypt: the KMS decrypts the blob into the vector's key. */
    check_decrypts(kms, &id, v->content.s, v->content.len, "vector-data-key", v->plaintext.s,
                   v->plaintext.len);
    CHECK(t.ctx_len == 0 && t.ctx_arrays_null); /* the nacos format has no context */
    /* Encrypt: the KMS "generates" the vector's key; ECB reproduces the content exactly. */
    CHECK_OK(nacoscrypt_config_encrypt(kms, &id, v->plaintext.s, v->plaintext.len, "alias/any",
                                       NACOSCRYPT_FORMAT_NACOS, &content, &n, &edk, &edk_n));
    CHECK_STR(content, n, v->content.s, v->content.len);
    CHECK_STR(edk, edk_n, "vector-data-key", 15);
    CHECK_CSTR(t.spec, v->data_key.len == 32 ? "AES_256" : "AES_128");
    nacoscrypt_string_free(content);
    nacoscrypt_string_free(edk);
    /* The same with the data key given directly. */
    CHECK_OK(nacoscrypt_config_decrypt_with_data_key((const uint8_t *)v->data_key.s,
                                                     v->data_key.len, &id, v->content.s,
                                                     v->content.len, "", &plain, &n));
    CHECK_STR(plain, n, v->plaintext.s, v->plaintext.len);
    nacoscrypt_string_free(plain);
    CHECK_OK(nacoscrypt_config_encrypt_with_data_key((const uint8_t *)v->data_key.s,
                                                     v->data_key.len, &id, v->plaintext.s,
                                                     v->plaintext.len, "", NACOSCRYPT_FORMAT_NACOS,
                                                     &content, &n));
    CHECK_STR(content, n, v->content.s, v->content.len);
    nacoscrypt_string_free(content);
    /* v1 with the same key round-trips (random nonce) and is bound to the identity. */
    CHECK_OK(nacoscrypt_config_encrypt(kms, &id, v->plaintext.s, v->plaintext.len, "alias/any",
                                       NACOSCRYPT_FORMAT_V1, &content, &n, &edk, NULL));
    CHECK(strncmp(content, "nc1:", 4) == 0);
    CHECK(t.ctx_len == 3);
    check_decrypts(kms, &id, content, n, edk, v->plaintext.s, v->plaintext.len);
    nacoscrypt_string_free(content);
    nacoscrypt_string_free(edk);

    nacoscrypt_kms_free(kms);
    CHECK(destroyed == 1);
  }

  for (i = 0; i < VEC_COUNT(ECB_FAIL_VECTORS); i++) {
    const ecb_fail_vector *v = &ECB_FAIL_VECTORS[i];
    test_kms t;
    nacoscrypt_kms *kms;
    nacoscrypt_config_id id;
    char *plain = (char *)0x1;
    memset(&t, 0, sizeof t);
    t.key = (const uint8_t *)v->data_key.s;
    t.key_len = v->data_key.len;
    t.key_blob = "vector-data-key";
    kms = callback_kms(&t);
    id.data_id = v->data_key.len == 32 ? "cipher-kms-aes-256-vector.properties"
                                       : "cipher-kms-aes-128-vector.properties";
    id.group = "DEFAULT_GROUP";
    id.tenant = "";
    if (nacoscrypt_config_decrypt(kms, &id, v->content.s, v->content.len, "vector-data-key",
                                  &plain, NULL) != v->expect) {
      fprintf(stderr, "ecb must_fail \"%s\"\n", v->reason.s);
    }
    CHECK(nacoscrypt_last_error_code() == v->expect);
    CHECK_RC(nacoscrypt_config_decrypt_with_data_key((const uint8_t *)v->data_key.s,
                                                     v->data_key.len, &id, v->content.s,
                                                     v->content.len, "", &plain, NULL),
             v->expect);
    if (v->first_block.len > 0) {
      CHECK_RC(nacoscrypt_config_decrypt(kms, &id, v->first_block.s, v->first_block.len,
                                         "vector-data-key", &plain, NULL),
               NACOSCRYPT_RESULT_BAD_PADDING);
    }
    CHECK(plain == (char *)0x1);
    nacoscrypt_kms_free(kms);
  }
}

/* ---------------------------------------------------------------------------------------- */
/* config-local-kms.json                                                                     */
/* ---------------------------------------------------------------------------------------- */

static void run_local_vectors(const nacoscrypt_kms *kms) {
  size_t i;
  for (i = 0; i < VEC_COUNT(LOCAL_VECTORS); i++) {
    const local_vector *v = &LOCAL_VECTORS[i];
    nacoscrypt_config_id id;
    id.data_id = v->data_id;
    id.group = v->group;
    id.tenant = v->tenant;
    check_decrypts(kms, &id, v->content.s, v->content.len, v->encrypted_data_key,
                   v->plaintext.s, v->plaintext.len);
  }
  for (i = 0; i < VEC_COUNT(LOCAL_FAIL_VECTORS); i++) {
    const local_vector *v = &LOCAL_FAIL_VECTORS[i];
    nacoscrypt_config_id id;
    char *plain = (char *)0x1;
    id.data_id = v->data_id;
    id.group = v->group;
    id.tenant = v->tenant;
    if (nacoscrypt_config_decrypt(kms, &id, v->content.s, v->content.len,
                                  v->encrypted_data_key, &plain,
                                  NULL) != NACOSCRYPT_RESULT_AUTHENTICATION_FAILED) {
      fprintf(stderr, "local must_fail #%lu \"%s\": %s\n", (unsigned long)i, v->reason,
              last_message());
    }
    CHECK(nacoscrypt_last_error_code() == NACOSCRYPT_RESULT_AUTHENTICATION_FAILED);
    CHECK_CSTR(last_message(), "authentication failed");
    CHECK(plain == (char *)0x1);
  }
}

static void test_local_kms_vectors(void) {
  nacoscrypt_keyring *parsed = parse_keyring(LOCAL_KEYRING.s, LOCAL_KEYRING.len);
  nacoscrypt_keyring *loaded = NULL;
  nacoscrypt_kms *kms = kms_of(parsed);
  nacoscrypt_kms *kms_loaded;
  run_local_vectors(kms);
  /* The same keyring from a file (mode 0600). */
  write_file(path_in_dir("vectors.keyring"), LOCAL_KEYRING.s, LOCAL_KEYRING.len, 0600);
  CHECK_OK(nacoscrypt_keyring_load(path_in_dir("vectors.keyring"), &loaded));
  kms_loaded = kms_of(loaded);
  nacoscrypt_keyring_free(loaded); /* the KMS keeps the keyring alive */
  run_local_vectors(kms_loaded);
  nacoscrypt_kms_free(kms_loaded);
  nacoscrypt_kms_free(kms);
  nacoscrypt_keyring_free(parsed);
  unlink(path_in_dir("vectors.keyring"));
}

/* ---------------------------------------------------------------------------------------- */
/* Config round trips and errors                                                             */
/* ---------------------------------------------------------------------------------------- */

static void test_config_round_trips(void) {
  static const char *data_ids[3] = {"cipher-kms-aes-256-db.properties",
                                    "cipher-kms-aes-128-app.yaml", "cipher-token.json"};
  static const nacoscrypt_format formats[2] = {NACOSCRYPT_FORMAT_NACOS, NACOSCRYPT_FORMAT_V1};
  const char plain[] = "password=s3cret\n\xe4\xb8\xad\xe6\x96\x87";
  nacoscrypt_keyring *k = NULL;
  nacoscrypt_kms *kms;
  size_t d, f;
  char *path = path_in_dir("roundtrip.keyring");

  CHECK_OK(nacoscrypt_keyring_create_file(path, "alias/nacos", &k));
  kms = kms_of(k);
  for (d = 0; d < 3; d++) {
    for (f = 0; f < 2; f++) {
      nacoscrypt_config_id id, moved;
      char *content = NULL, *edk = NULL, *out = (char *)0x1;
      size_t n = 0, edk_n = 99;
      id.data_id = data_ids[d];
      id.group = "payments";
      id.tenant = "prod";
      CHECK_OK(nacoscrypt_config_encrypt(kms, &id, plain, strlen(plain), "alias/nacos",
                                         formats[f], &content, &n, &edk, &edk_n));
      CHECK(strlen(content) == n);
      CHECK((strncmp(content, "nc1:", 4) == 0) == (formats[f] == NACOSCRYPT_FORMAT_V1));
      CHECK((edk_n == 0) == (d == 2)); /* direct: no encryptedDataKey */
      check_decrypts(kms, &id, content, n, edk, plain, strlen(plain));
      /* Moved to another group: v1 refuses, always; nacos envelope still decrypts. */
      moved = id;
      moved.group = "other";
      if (formats[f] == NACOSCRYPT_FORMAT_V1) {
        CHECK_RC(nacoscrypt_config_decrypt(kms, &moved, content, n, edk, &out, NULL),
                 NACOSCRYPT_RESULT_AUTHENTICATION_FAILED);
        CHECK(out == (char *)0x1);
      } else {
        check_decrypts(kms, &moved, content, n, edk, plain, strlen(plain));
      }
      /* Tampered content: a character that carries data bits (the middle of a GCM body or
       * of a KMS blob; the last ECB block, so that its padding breaks). */
      {
        size_t at = (formats[f] == NACOSCRYPT_FORMAT_V1 || d == 2) ? n / 2 : n - 5;
        content[at] = content[at] == 'A' ? 'B' : 'A';
      }
      {
        nacoscrypt_result rc = nacoscrypt_config_decrypt(kms, &id, content, n, edk, &out, NULL);
        CHECK(rc != NACOSCRYPT_RESULT_OK);
        if (formats[f] == NACOSCRYPT_FORMAT_V1 || d == 2) {
          CHECK(rc == NACOSCRYPT_RESULT_AUTHENTICATION_FAILED);
        }
      }
      CHECK(out == (char *)0x1);
      nacoscrypt_string_free(content);
      nacoscrypt_string_free(edk);
    }
  }

  /* Limits: exactly at the limit is fine, one byte more is refused, naming both numbers. */
  {
    char *big = (char *)malloc(51202);
    nacoscrypt_config_id id;
    char *content = NULL, *edk = NULL, *out = NULL;
    size_t n = 0, out_n = 0;
    nacoscrypt_limits small;
    memset(big, 'x', 51201);
    big[51201] = '\0';
    id.data_id = "cipher-kms-aes-256-big";
    id.group = "g";
    id.tenant = "";
    CHECK_RC(nacoscrypt_config_encrypt(kms, &id, big, 51201, "alias/nacos",
                                       NACOSCRYPT_FORMAT_NACOS, &content, &n, &edk, NULL),
             NACOSCRYPT_RESULT_CONTENT_TOO_LARGE);
    CHECK(strstr(last_message(), "51201") != NULL && strstr(last_message(), "51200") != NULL);
    CHECK(content == NULL && edk == NULL);
    CHECK_OK(nacoscrypt_config_encrypt(kms, &id, big, 51200, "alias/nacos",
                                       NACOSCRYPT_FORMAT_V1, &content, &n, &edk, NULL));
    CHECK_OK(nacoscrypt_config_decrypt(kms, &id, content, n, edk, &out, &out_n));
    CHECK(out_n == 51200);
    nacoscrypt_string_free(out);
    /* Lower limits refuse it on decrypt. */
    small = nacoscrypt_limits_nacos();
    small.envelope = 1000;
    CHECK_RC(nacoscrypt_config_decrypt_with_limits(kms, &id, content, n, edk, &small, &out, NULL),
             NACOSCRYPT_RESULT_CONTENT_TOO_LARGE);
    CHECK_RC(nacoscrypt_config_decrypt_with_limits(kms, &id, content, n, edk, NULL, &out, NULL),
             NACOSCRYPT_RESULT_NULL_POINTER);
    nacoscrypt_string_free(content);
    nacoscrypt_string_free(edk);
    id.data_id = "cipher-direct";
    CHECK_RC(nacoscrypt_config_encrypt(kms, &id, big, 6145, "alias/nacos",
                                       NACOSCRYPT_FORMAT_NACOS, &content, &n, &edk, NULL),
             NACOSCRYPT_RESULT_CONTENT_TOO_LARGE);
    free(big);
  }
  nacoscrypt_kms_free(kms);
  nacoscrypt_keyring_free(k);
  unlink(path);
}

static void test_config_errors(void) {
  nacoscrypt_keyring *k = parse_keyring(LOCAL_KEYRING.s, LOCAL_KEYRING.len);
  nacoscrypt_kms *kms = kms_of(k);
  nacoscrypt_config_id id, bad;
  char *content = (char *)0x1, *edk = (char *)0x1, *plain = (char *)0x1;
  const local_vector *v = &LOCAL_VECTORS[0];
  uint8_t key32[32], key20[20];

  memset(key32, 1, sizeof key32);
  memset(key20, 1, sizeof key20);
  id.data_id = "cipher-kms-aes-256-x";
  id.group = "g";
  id.tenant = "";

  /* NULL arguments, one by one. */
  CHECK_RC(nacoscrypt_config_encrypt(NULL, &id, "a", 1, "alias/nacos-test", 0, &content, NULL,
                                     &edk, NULL),
           NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_RC(nacoscrypt_config_encrypt(kms, NULL, "a", 1, "alias/nacos-test", 0, &content, NULL,
                                     &edk, NULL),
           NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_RC(nacoscrypt_config_encrypt(kms, &id, NULL, 1, "alias/nacos-test", 0, &content, NULL,
                                     &edk, NULL),
           NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_RC(nacoscrypt_config_encrypt(kms, &id, "a", 1, NULL, 0, &content, NULL, &edk, NULL),
           NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_RC(nacoscrypt_config_encrypt(kms, &id, "a", 1, "alias/nacos-test", 0, NULL, NULL, &edk,
                                     NULL),
           NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_RC(nacoscrypt_config_encrypt(kms, &id, "a", 1, "alias/nacos-test", 0, &content, NULL,
                                     NULL, NULL),
           NACOSCRYPT_RESULT_NULL_POINTER);
  bad = id;
  bad.tenant = NULL;
  CHECK_RC(nacoscrypt_config_encrypt(kms, &bad, "a", 1, "alias/nacos-test", 0, &content, NULL,
                                     &edk, NULL),
           NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_CSTR(last_message(), "argument `id->tenant` is NULL");
  CHECK_RC(nacoscrypt_config_decrypt(kms, &id, "abc", 3, NULL, &plain, NULL),
           NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_RC(nacoscrypt_config_decrypt(kms, &id, "abc", 3, "", NULL, NULL),
           NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_RC(nacoscrypt_config_decrypt(NULL, &id, "abc", 3, "", &plain, NULL),
           NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_RC(nacoscrypt_config_encrypt_with_data_key(NULL, 32, &id, "a", 1, "", 0, &content, NULL),
           NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_RC(nacoscrypt_config_decrypt_with_data_key(key32, 32, &id, NULL, 0, "", &plain, NULL),
           NACOSCRYPT_RESULT_NULL_POINTER);

  /* Impossible lengths. */
  CHECK_RC(nacoscrypt_config_encrypt(kms, &id, "a", SIZE_MAX, "alias/nacos-test", 0, &content,
                                     NULL, &edk, NULL),
           NACOSCRYPT_RESULT_INVALID_LENGTH);
  CHECK_RC(nacoscrypt_config_decrypt(kms, &id, "abc", (size_t)PTRDIFF_MAX + 1, "", &plain, NULL),
           NACOSCRYPT_RESULT_INVALID_LENGTH);
  CHECK_RC(nacoscrypt_config_decrypt_with_data_key(key32, SIZE_MAX, &id, "abc", 3, "", &plain,
                                                   NULL),
           NACOSCRYPT_RESULT_INVALID_LENGTH);

  /* Invalid UTF-8 inputs. */
  CHECK_RC(nacoscrypt_config_encrypt(kms, &id, "\xff", 1, "alias/nacos-test", 0, &content, NULL,
                                     &edk, NULL),
           NACOSCRYPT_RESULT_INVALID_UTF8_INPUT);
  bad = id;
  bad.group = "\xc3\x28";
  CHECK_RC(nacoscrypt_config_decrypt(kms, &bad, "abc", 3, "", &plain, NULL),
           NACOSCRYPT_RESULT_INVALID_UTF8_INPUT);
  CHECK(strstr(last_message(), "id->group") != NULL);

  /* Domain errors. */
  CHECK_RC(nacoscrypt_config_encrypt(kms, &id, "a", 1, "alias/nacos-test", 7, &content, NULL,
                                     &edk, NULL),
           NACOSCRYPT_RESULT_INVALID_ARGUMENT);
  CHECK_RC(nacoscrypt_config_encrypt(kms, &id, "", 0, "alias/nacos-test", 0, &content, NULL,
                                     &edk, NULL),
           NACOSCRYPT_RESULT_EMPTY_CONTENT);
  bad = id;
  bad.data_id = "application.yaml";
  CHECK_RC(nacoscrypt_config_encrypt(kms, &bad, "a", 1, "alias/nacos-test", 0, &content, NULL,
                                     &edk, NULL),
           NACOSCRYPT_RESULT_NOT_ENCRYPTED_DATA_ID);
  CHECK_RC(nacoscrypt_config_decrypt(kms, &bad, "abc", 3, "", &plain, NULL),
           NACOSCRYPT_RESULT_NOT_ENCRYPTED_DATA_ID);
  CHECK_RC(nacoscrypt_config_encrypt(kms, &id, "a", 1, "alias/unknown", 0, &content, NULL, &edk,
                                     NULL),
           NACOSCRYPT_RESULT_UNKNOWN_KEY);
  CHECK_RC(nacoscrypt_config_decrypt(kms, &id, "", 0, "x", &plain, NULL),
           NACOSCRYPT_RESULT_EMPTY_CONTENT);
  CHECK_RC(nacoscrypt_config_decrypt(kms, &id, "abcd", 4, "", &plain, NULL),
           NACOSCRYPT_RESULT_INVALID_ENCRYPTED_DATA_KEY);
  {
    char long_edk[1100];
    memset(long_edk, 'A', sizeof long_edk - 1);
    long_edk[sizeof long_edk - 1] = '\0';
    CHECK_RC(nacoscrypt_config_decrypt(kms, &id, "abcd", 4, long_edk, &plain, NULL),
             NACOSCRYPT_RESULT_INVALID_ENCRYPTED_DATA_KEY);
    CHECK(strstr(last_message(), "1099") != NULL);
  }
  {
    /* A real wrapped key, and content that is not base64. */
    nacoscrypt_config_id vid;
    vid.data_id = v->data_id;
    vid.group = v->group;
    vid.tenant = v->tenant;
    CHECK_RC(nacoscrypt_config_decrypt(kms, &vid, "not base64!", 11, v->encrypted_data_key,
                                       &plain, NULL),
             NACOSCRYPT_RESULT_INVALID_BASE64);
    CHECK(strstr(last_message(), "invalid base64") != NULL);
  }
  CHECK_RC(nacoscrypt_config_encrypt_with_data_key(key20, 20, &id, "a", 1, "", 0, &content, NULL),
           NACOSCRYPT_RESULT_DATA_KEY_LENGTH);
  CHECK(strstr(last_message(), "20 bytes") != NULL);
  {
    /* The 128-bit scheme needs 16 bytes, whatever is given. */
    nacoscrypt_config_id id128 = id;
    id128.data_id = "cipher-kms-aes-128-x";
    CHECK_RC(nacoscrypt_config_encrypt_with_data_key(key32, 32, &id128, "a", 1, "", 0, &content,
                                                     NULL),
             NACOSCRYPT_RESULT_DATA_KEY_LENGTH);
  }

  /* A keyring without the vectors' keys: unknown key version. */
  {
    nacoscrypt_keyring *other = NULL;
    nacoscrypt_kms *other_kms;
    nacoscrypt_config_id vid;
    char *p = path_in_dir("other.keyring");
    CHECK_OK(nacoscrypt_keyring_create_file(p, "alias/nacos-test", &other));
    other_kms = kms_of(other);
    vid.data_id = v->data_id;
    vid.group = v->group;
    vid.tenant = v->tenant;
    CHECK_RC(nacoscrypt_config_decrypt(other_kms, &vid, v->content.s, v->content.len,
                                       v->encrypted_data_key, &plain, NULL),
             NACOSCRYPT_RESULT_UNKNOWN_KEY);
    nacoscrypt_kms_free(other_kms);
    nacoscrypt_keyring_free(other);
    unlink(p);
  }
  /* A wrong data key: the nacos format fails on padding, v1 on authentication. */
  {
    const ecb_vector *e = &ECB_VECTORS[0];
    uint8_t wrong[32];
    char *v1 = NULL;
    size_t n = 0;
    memcpy(wrong, e->data_key.s, 32);
    wrong[0] ^= 0x80;
    CHECK_RC(nacoscrypt_config_decrypt_with_data_key(wrong, 32, &id, e->content.s,
                                                     e->content.len, "", &plain, NULL),
             NACOSCRYPT_RESULT_BAD_PADDING);
    CHECK_OK(nacoscrypt_config_encrypt_with_data_key((const uint8_t *)e->data_key.s, 32, &id,
                                                     "secret", 6, "edk", NACOSCRYPT_FORMAT_V1,
                                                     &v1, &n));
    CHECK_RC(nacoscrypt_config_decrypt_with_data_key(wrong, 32, &id, v1, n, "edk", &plain, NULL),
             NACOSCRYPT_RESULT_AUTHENTICATION_FAILED);
    /* ... and the encryptedDataKey is bound too. */
    CHECK_RC(nacoscrypt_config_decrypt_with_data_key((const uint8_t *)e->data_key.s, 32, &id, v1,
                                                     n, "edk2", &plain, NULL),
             NACOSCRYPT_RESULT_AUTHENTICATION_FAILED);
    CHECK_OK(nacoscrypt_config_decrypt_with_data_key((const uint8_t *)e->data_key.s, 32, &id, v1,
                                                     n, "edk", &plain, &n));
    CHECK_STR(plain, n, "secret", 6);
    nacoscrypt_string_free(plain);
    plain = (char *)0x1;
    nacoscrypt_string_free(v1);
  }
  CHECK(content == (char *)0x1 && edk == (char *)0x1 && plain == (char *)0x1);
  nacoscrypt_kms_free(kms);
  nacoscrypt_keyring_free(k);
}

/* ---------------------------------------------------------------------------------------- */
/* Keyring API                                                                               */
/* ---------------------------------------------------------------------------------------- */

static void test_keyring_api(void) {
  nacoscrypt_keyring *k = NULL, *unchanged = (nacoscrypt_keyring *)0x1, *reloaded = NULL;
  nacoscrypt_kms *kms, *kms2;
  size_t count = 0, n = 0;
  char *s = NULL, *version = NULL, *blob = NULL;
  uint8_t *plain = NULL;
  char *path = path_in_dir("api.keyring");

  /* Listing. */
  k = parse_keyring(LOCAL_KEYRING.s, LOCAL_KEYRING.len);
  CHECK_OK(nacoscrypt_keyring_key_count(k, &count));
  CHECK(count == 2);
  CHECK_OK(nacoscrypt_keyring_key_id(k, 0, &s, &n));
  CHECK_STR(s, n, "alias/nacos-test", 16);
  nacoscrypt_string_free(s);
  CHECK_OK(nacoscrypt_keyring_key_id(k, 1, &s, NULL));
  CHECK_CSTR(s, "alias/other");
  nacoscrypt_string_free(s);
  s = (char *)0x1;
  CHECK_RC(nacoscrypt_keyring_key_id(k, 2, &s, NULL), NACOSCRYPT_RESULT_INVALID_ARGUMENT);
  CHECK(s == (char *)0x1);
  CHECK_OK(nacoscrypt_keyring_primary_version(k, "alias/nacos-test", &s, &n));
  CHECK_STR(s, n, "248a1e92-4e8f-40ae-ae1a-9492a3305f18", 36); /* the last line is primary */
  nacoscrypt_string_free(s);
  CHECK_RC(nacoscrypt_keyring_primary_version(k, "alias/none", &s, &n),
           NACOSCRYPT_RESULT_UNKNOWN_KEY);
  CHECK_RC(nacoscrypt_keyring_key_count(NULL, &count), NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_RC(nacoscrypt_keyring_key_count(k, NULL), NACOSCRYPT_RESULT_NULL_POINTER);
  nacoscrypt_keyring_free(k);

  /* Parse errors name the line. */
  {
    const char syntax[] = "# header\n\nkey alias/x too-short AAAA\n";
    const char dup[] =
        "key a 52f22665-a60c-42d2-a918-5d950ee88136 CRZvaxE9F41sD9OQH/I5oaCV8g+TlWUM+TgLjtsiSms=\n"
        "key b 52f22665-a60c-42d2-a918-5d950ee88136 CRZvaxE9F41sD9OQH/I5oaCV8g+TlWUM+TgLjtsiSms=\n";
    const char short_key[] = "key a 52f22665-a60c-42d2-a918-5d950ee88136 AAAA\n";
    CHECK_RC(nacoscrypt_keyring_parse(syntax, strlen(syntax), &unchanged),
             NACOSCRYPT_RESULT_KEYRING_SYNTAX);
    CHECK(strncmp(last_message(), "keyring line 3:", 15) == 0);
    CHECK_RC(nacoscrypt_keyring_parse(dup, strlen(dup), &unchanged),
             NACOSCRYPT_RESULT_DUPLICATE_KEY_VERSION);
    CHECK_CSTR(last_message(), "keyring line 2: duplicate version id");
    CHECK_RC(nacoscrypt_keyring_parse(short_key, strlen(short_key), &unchanged),
             NACOSCRYPT_RESULT_KEYRING_KEY_LENGTH);
    CHECK(strstr(last_message(), "3 bytes") != NULL);
    CHECK_RC(nacoscrypt_keyring_parse(NULL, 0, &unchanged), NACOSCRYPT_RESULT_NULL_POINTER);
    CHECK_RC(nacoscrypt_keyring_parse(dup, SIZE_MAX, &unchanged),
             NACOSCRYPT_RESULT_INVALID_LENGTH);
    CHECK_RC(nacoscrypt_keyring_parse("\xff", 1, &unchanged),
             NACOSCRYPT_RESULT_INVALID_UTF8_INPUT);
    CHECK(unchanged == (nacoscrypt_keyring *)0x1);
  }

  /* Files: create, refuse to overwrite, permission check, rotation. */
  CHECK_OK(nacoscrypt_keyring_create_file(path, "alias/app", &k));
  CHECK_RC(nacoscrypt_keyring_create_file(path, "alias/app", &unchanged), NACOSCRYPT_RESULT_IO);
  CHECK_RC(nacoscrypt_keyring_create_file(path_in_dir("bad-id.keyring"), "has space", &unchanged),
           NACOSCRYPT_RESULT_INVALID_ARGUMENT);
  {
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
  }
  kms = kms_of(k);
  CHECK_OK(nacoscrypt_kms_encrypt(kms, "alias/app", (const uint8_t *)"v1", 2, NULL, NULL, 0,
                                  &blob, NULL));
  CHECK_OK(nacoscrypt_keyring_primary_version(k, "alias/app", &s, NULL));
  CHECK_OK(nacoscrypt_keyring_rotate_file(path, "alias/app", false, &version, &n));
  CHECK(n == 36 && strcmp(version, s) != 0);
  CHECK_RC(nacoscrypt_keyring_rotate_file(path, "alias/new", false, &version, &n),
           NACOSCRYPT_RESULT_UNKNOWN_KEY);
  nacoscrypt_string_free(s);
  CHECK_OK(nacoscrypt_keyring_rotate_file(path, "alias/new", true, &s, NULL));
  nacoscrypt_string_free(s);
  CHECK_OK(nacoscrypt_keyring_load(path, &reloaded));
  CHECK_OK(nacoscrypt_keyring_key_count(reloaded, &count));
  CHECK(count == 2);
  CHECK_OK(nacoscrypt_keyring_primary_version(reloaded, "alias/app", &s, NULL));
  CHECK(strcmp(s, version) == 0);
  nacoscrypt_string_free(s);
  kms2 = kms_of(reloaded);
  /* The old version still decrypts after rotation. */
  CHECK_OK(nacoscrypt_kms_decrypt(kms2, blob, strlen(blob), NULL, NULL, 0, &plain, &n));
  CHECK(n == 2 && memcmp(plain, "v1", 2) == 0 && plain[2] == 0);
  nacoscrypt_bytes_free(plain);
  nacoscrypt_string_free(blob);
  nacoscrypt_string_free(version);
  nacoscrypt_kms_free(kms2);
  nacoscrypt_keyring_free(reloaded);
  nacoscrypt_kms_free(kms);
  nacoscrypt_keyring_free(k);

  /* Loose permissions are refused, like ssh's private keys. */
  CHECK(chmod(path, 0644) == 0);
  CHECK_RC(nacoscrypt_keyring_load(path, &unchanged), NACOSCRYPT_RESULT_LOOSE_PERMISSIONS);
  CHECK(strstr(last_message(), "644") != NULL);
  CHECK_RC(nacoscrypt_keyring_rotate_file(path, "alias/app", false, &version, NULL),
           NACOSCRYPT_RESULT_LOOSE_PERMISSIONS);
  CHECK_RC(nacoscrypt_keyring_load(path_in_dir("missing.keyring"), &unchanged),
           NACOSCRYPT_RESULT_IO);
  CHECK(strstr(last_message(), "opening the keyring file") != NULL);
  CHECK_RC(nacoscrypt_keyring_load(NULL, &unchanged), NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_RC(nacoscrypt_keyring_load(path, NULL), NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK(unchanged == (nacoscrypt_keyring *)0x1);
  nacoscrypt_keyring_free(NULL);
  unlink(path);
}

/* A keyring handle follows its file (issue 11): versions another process adds decrypt, reload
 * sees a rotation, a symbolic link stays a link, a FIFO is refused at once. */
static void test_keyring_follows_file(void) {
  nacoscrypt_keyring *k = NULL, *unchanged = (nacoscrypt_keyring *)0x1;
  nacoscrypt_kms *kms;
  char *path = strdup(path_in_dir("follow.keyring"));
  char *version = NULL, *s = NULL;
  uint8_t *plain = NULL;
  size_t n = 0;
  bool changed = true;
  char blob[512] = {0};
  int fds[2];
  pid_t pid;
  int status = 0;
  ssize_t got = 0, r;

  CHECK_OK(nacoscrypt_keyring_create_file(path, "alias/app", &k));
  kms = kms_of(k);

  /* Another process rotates the key and encrypts with the new version ... */
  CHECK(pipe(fds) == 0);
  pid = fork();
  if (pid == 0) {
    nacoscrypt_keyring *fresh = NULL;
    nacoscrypt_kms *fresh_kms = NULL;
    char *out = NULL, *v = NULL;
    size_t len = 0;
    close(fds[0]);
    if (nacoscrypt_keyring_rotate_file(path, "alias/app", false, &v, NULL) != 0 ||
        nacoscrypt_keyring_load(path, &fresh) != 0 ||
        nacoscrypt_kms_from_keyring(fresh, &fresh_kms) != 0 ||
        nacoscrypt_kms_encrypt(fresh_kms, "alias/app", (const uint8_t *)"secret", 6, NULL, NULL, 0,
                               &out, &len) != 0 ||
        write(fds[1], out, len) != (ssize_t)len) {
      _exit(1);
    }
    _exit(0);
  }
  CHECK(pid > 0);
  close(fds[1]);
  while ((r = read(fds[0], blob + got, sizeof blob - 1 - (size_t)got)) > 0) got += r;
  close(fds[0]);
  CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK(got > 48);
  /* ... and this process's old handle decrypts it: it read the file again by itself. */
  CHECK_OK(nacoscrypt_kms_decrypt(kms, blob, (size_t)got, NULL, NULL, 0, &plain, &n));
  CHECK(n == 6 && memcmp(plain, "secret", 6) == 0);
  nacoscrypt_bytes_free(plain);

  /* reload: sees a rotation at once; then nothing changed. */
  CHECK_OK(nacoscrypt_keyring_rotate_file(path, "alias/app", false, &version, NULL));
  CHECK_OK(nacoscrypt_keyring_reload(k, &changed));
  CHECK(changed);
  CHECK_OK(nacoscrypt_keyring_primary_version(k, "alias/app", &s, NULL));
  CHECK_CSTR(s, version);
  nacoscrypt_string_free(s);
  CHECK_OK(nacoscrypt_keyring_reload(k, &changed));
  CHECK(!changed);
  CHECK_OK(nacoscrypt_keyring_reload(k, NULL));
  CHECK_RC(nacoscrypt_keyring_reload(NULL, &changed), NACOSCRYPT_RESULT_NULL_POINTER);
  nacoscrypt_string_free(version);

  /* Rotation through a symbolic link replaces the file it points to; the link stays. */
  {
    char *link = strdup(path_in_dir("follow.link"));
    struct stat st;
    CHECK(symlink(path, link) == 0);
    CHECK_OK(nacoscrypt_keyring_rotate_file(link, "alias/app", false, &version, NULL));
    CHECK(lstat(link, &st) == 0 && S_ISLNK(st.st_mode));
    CHECK_OK(nacoscrypt_keyring_reload(k, &changed));
    CHECK(changed);
    CHECK_OK(nacoscrypt_keyring_primary_version(k, "alias/app", &s, NULL));
    CHECK_CSTR(s, version);
    nacoscrypt_string_free(s);
    nacoscrypt_string_free(version);
    unlink(link);
    free(link);
  }

  /* A FIFO is refused at once, saying what it is (alarm: a hang fails the suite). */
  {
    char *fifo = strdup(path_in_dir("follow.fifo"));
    CHECK(mkfifo(fifo, 0600) == 0);
    alarm(10);
    CHECK_RC(nacoscrypt_keyring_load(fifo, &unchanged), NACOSCRYPT_RESULT_IO);
    CHECK(strstr(last_message(), "named pipe") != NULL);
    CHECK_RC(nacoscrypt_keyring_rotate_file(fifo, "alias/app", false, &version, NULL),
             NACOSCRYPT_RESULT_IO);
    alarm(0);
    CHECK(unchanged == (nacoscrypt_keyring *)0x1);
    unlink(fifo);
    free(fifo);
  }

  /* A keyring parsed from text has no file: reload changes nothing. */
  {
    nacoscrypt_keyring *text = parse_keyring(LOCAL_KEYRING.s, LOCAL_KEYRING.len);
    changed = true;
    CHECK_OK(nacoscrypt_keyring_reload(text, &changed));
    CHECK(!changed);
    nacoscrypt_keyring_free(text);
  }

  nacoscrypt_kms_free(kms);
  nacoscrypt_keyring_free(k);
  unlink(path);
  unlink(path_in_dir("follow.keyring.lock"));
  free(path);
}

/* ---------------------------------------------------------------------------------------- */
/* KMS: callbacks (errors, context, destructor) and the primitive operations                 */
/* ---------------------------------------------------------------------------------------- */

static void test_callback_kms(void) {
  const uint8_t key32[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                             17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
  int destroyed = 0;
  test_kms t;
  nacoscrypt_kms *kms, *unchanged = (nacoscrypt_kms *)0x1;
  nacoscrypt_config_id id;
  char *content = (char *)0x1, *edk = (char *)0x1, *plain = NULL;
  size_t n = 0;

  memset(&t, 0, sizeof t);
  t.key = key32;
  t.key_len = 32;
  t.key_blob = "blob-of-key32";
  t.destroyed = &destroyed;
  kms = callback_kms(&t);
  id.data_id = "cipher-kms-aes-256-db.properties";
  id.group = "payments";
  id.tenant = "";

  /* v1 passes the identity as context, sorted by name, empty tenant as "public". */
  CHECK_OK(nacoscrypt_config_encrypt(kms, &id, "pw", 2, "alias/k", NACOSCRYPT_FORMAT_V1, &content,
                                     &n, &edk, NULL));
  CHECK(t.ctx_len == 3);
  CHECK_CSTR(t.ctx[0][0], "dataId");
  CHECK_CSTR(t.ctx[0][1], "cipher-kms-aes-256-db.properties");
  CHECK_CSTR(t.ctx[1][0], "group");
  CHECK_CSTR(t.ctx[1][1], "payments");
  CHECK_CSTR(t.ctx[2][0], "tenant");
  CHECK_CSTR(t.ctx[2][1], "public");
  check_decrypts(kms, &id, content, n, edk, "pw", 2);
  nacoscrypt_string_free(content);
  nacoscrypt_string_free(edk);
  content = edk = (char *)0x1;

  /* The direct scheme: the callback encrypts the content itself, bound to the context. */
  {
    nacoscrypt_config_id direct = id, moved;
    char *c = NULL, *e = NULL;
    direct.data_id = "cipher-token.json";
    CHECK_OK(nacoscrypt_config_encrypt(kms, &direct, "tok", 3, "alias/k", NACOSCRYPT_FORMAT_V1,
                                       &c, &n, &e, NULL));
    CHECK(strncmp(c, "nc1:hex:746f6b@", 15) == 0 && e[0] == '\0');
    check_decrypts(kms, &direct, c, n, e, "tok", 3);
    moved = direct;
    moved.tenant = "prod";
    /* The callback refuses the other context: its code and message reach the caller. */
    CHECK_RC(nacoscrypt_config_decrypt(kms, &moved, c, n, e, &plain, NULL),
             NACOSCRYPT_RESULT_KMS);
    CHECK(nacoscrypt_last_kms_error_code() == 77);
    CHECK(strstr(last_message(), "context mismatch") != NULL);
    CHECK(strstr(last_message(), "77") != NULL);
    nacoscrypt_string_free(c);
    nacoscrypt_string_free(e);
    CHECK_OK(nacoscrypt_config_encrypt(kms, &direct, "tok", 3, "alias/k",
                                       NACOSCRYPT_FORMAT_NACOS, &c, &n, &e, NULL));
    CHECK_CSTR(c, "hex:746f6b@");
    check_decrypts(kms, &direct, c, n, e, "tok", 3);
    nacoscrypt_string_free(c);
    nacoscrypt_string_free(e);
  }

  /* A failing callback: NACOSCRYPT_RESULT_KMS, its own code, its own message. */
  t.fail_code = 42;
  t.fail_message = "quota exceeded";
  CHECK_RC(nacoscrypt_config_encrypt(kms, &id, "pw", 2, "alias/k", NACOSCRYPT_FORMAT_NACOS,
                                     &content, NULL, &edk, NULL),
           NACOSCRYPT_RESULT_KMS);
  CHECK(nacoscrypt_last_kms_error_code() == 42);
  CHECK_CSTR(last_message(),
             "KMS failure: generate_data_key callback failed with code 42: quota exceeded");
  CHECK(nacoscrypt_last_error_nacos_message() == NULL);
  t.fail_code = -3;
  t.fail_message = NULL;
  CHECK_RC(nacoscrypt_config_decrypt(kms, &id, "AAAAAAAAAAAAAAAAAAAAAA==", 24, "blob-of-key32",
                                     &plain, NULL),
           NACOSCRYPT_RESULT_KMS);
  CHECK(nacoscrypt_last_kms_error_code() == -3);
  CHECK(strstr(last_message(), "decrypt callback failed with code -3: (no message)") != NULL);
  /* The code is cleared by the next call. */
  CHECK(nacoscrypt_config_is_encrypted_data_id("cipher-x"));
  CHECK_RC(nacoscrypt_keyring_parse(NULL, 0, NULL), NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK(nacoscrypt_last_kms_error_code() == 0);
  t.fail_code = 0;

  /* A callback that returns 0 without results. */
  t.set_nothing = 1;
  CHECK_RC(nacoscrypt_config_encrypt(kms, &id, "pw", 2, "alias/k", NACOSCRYPT_FORMAT_NACOS,
                                     &content, NULL, &edk, NULL),
           NACOSCRYPT_RESULT_KMS);
  CHECK(nacoscrypt_last_kms_error_code() == 0);
  CHECK(strstr(last_message(), "without setting") != NULL);
  CHECK_RC(nacoscrypt_config_decrypt(kms, &id, "AAAAAAAAAAAAAAAAAAAAAA==", 24, "blob-of-key32",
                                     &plain, NULL),
           NACOSCRYPT_RESULT_KMS);
  t.set_nothing = 0;
  /* A blob that is not UTF-8 is refused by the setter. */
  t.bad_utf8_blob = 1;
  CHECK_RC(nacoscrypt_config_encrypt(kms, &id, "pw", 2, "alias/k", NACOSCRYPT_FORMAT_NACOS,
                                     &content, NULL, &edk, NULL),
           NACOSCRYPT_RESULT_KMS);
  t.bad_utf8_blob = 0;
  /* A data key of the wrong length for the scheme. */
  t.key_len = 16;
  CHECK_RC(nacoscrypt_config_encrypt(kms, &id, "pw", 2, "alias/k", NACOSCRYPT_FORMAT_NACOS,
                                     &content, NULL, &edk, NULL),
           NACOSCRYPT_RESULT_DATA_KEY_LENGTH);
  t.key_len = 32;
  CHECK(content == (char *)0x1 && edk == (char *)0x1);

  /* Setters refuse NULLs. */
  CHECK_RC(nacoscrypt_kms_output_set_plaintext(NULL, key32, 32), NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_RC(nacoscrypt_kms_output_set_ciphertext_blob(NULL, "x", 1),
           NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_RC(nacoscrypt_kms_output_set_error_message(NULL, "x"), NACOSCRYPT_RESULT_NULL_POINTER);

  nacoscrypt_kms_free(kms);
  CHECK(destroyed == 1);
  nacoscrypt_kms_free(NULL);

  /* A decrypt-only KMS: encrypting fails cleanly; no table, no callbacks: refused. */
  {
    nacoscrypt_kms_callbacks cbs;
    int destroyed2 = 0;
    test_kms t2;
    memset(&t2, 0, sizeof t2);
    t2.destroyed = &destroyed2;
    memset(&cbs, 0, sizeof cbs);
    cbs.userdata = &t2;
    cbs.destroy = cb_destroy;
    CHECK_RC(nacoscrypt_kms_from_callbacks(&cbs, &unchanged), NACOSCRYPT_RESULT_INVALID_ARGUMENT);
    CHECK(destroyed2 == 0); /* on failure the userdata stays the caller's */
    CHECK_RC(nacoscrypt_kms_from_callbacks(NULL, &unchanged), NACOSCRYPT_RESULT_NULL_POINTER);
    CHECK(unchanged == (nacoscrypt_kms *)0x1);
    cbs.decrypt = cb_decrypt;
    CHECK_RC(nacoscrypt_kms_from_callbacks(&cbs, NULL), NACOSCRYPT_RESULT_NULL_POINTER);
    CHECK_OK(nacoscrypt_kms_from_callbacks(&cbs, &kms));
    CHECK_RC(nacoscrypt_config_encrypt(kms, &id, "pw", 2, "alias/k", NACOSCRYPT_FORMAT_NACOS,
                                       &content, NULL, &edk, NULL),
             NACOSCRYPT_RESULT_KMS);
    CHECK(strstr(last_message(), "no generate_data_key callback") != NULL);
    nacoscrypt_kms_free(kms);
    CHECK(destroyed2 == 1);
    /* Without a destructor. */
    cbs.destroy = NULL;
    CHECK_OK(nacoscrypt_kms_from_callbacks(&cbs, &kms));
    nacoscrypt_kms_free(kms);
    CHECK(destroyed2 == 1);
  }
  CHECK_RC(nacoscrypt_kms_from_keyring(NULL, &unchanged), NACOSCRYPT_RESULT_NULL_POINTER);
}

static void test_kms_primitives(void) {
  nacoscrypt_keyring *k = parse_keyring(LOCAL_KEYRING.s, LOCAL_KEYRING.len);
  nacoscrypt_kms *kms = kms_of(k);
  const char *names[2] = {"tenant", "dataId"};
  const char *values[2] = {"public", "cipher-x"};
  const char *other_values[2] = {"prod", "cipher-x"};
  char *blob = NULL, *blob2 = NULL;
  uint8_t *plain = NULL, *key = NULL;
  size_t n = 0, key_n = 0, blob_n = 0;

  CHECK_OK(nacoscrypt_kms_encrypt(kms, "alias/other", (const uint8_t *)"small secret", 12, names,
                                  values, 2, &blob, &blob_n));
  CHECK(strlen(blob) == blob_n);
  CHECK(strncmp(blob, "YmE3MjQ5OWIt", 12) == 0); /* the version id of alias/other first */
  CHECK_OK(nacoscrypt_kms_decrypt(kms, blob, blob_n, names, values, 2, &plain, &n));
  CHECK(n == 12 && memcmp(plain, "small secret", 12) == 0);
  nacoscrypt_bytes_free(plain);
  plain = (uint8_t *)0x1;
  CHECK_RC(nacoscrypt_kms_decrypt(kms, blob, blob_n, names, other_values, 2, &plain, &n),
           NACOSCRYPT_RESULT_AUTHENTICATION_FAILED);
  CHECK_RC(nacoscrypt_kms_decrypt(kms, blob, blob_n, NULL, NULL, 0, &plain, &n),
           NACOSCRYPT_RESULT_AUTHENTICATION_FAILED);
  CHECK_RC(nacoscrypt_kms_decrypt(kms, blob, blob_n, NULL, values, 2, &plain, &n),
           NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_RC(nacoscrypt_kms_decrypt(kms, blob, blob_n, names, values, SIZE_MAX, &plain, &n),
           NACOSCRYPT_RESULT_INVALID_LENGTH);
  CHECK_RC(nacoscrypt_kms_decrypt(kms, blob, blob_n, names, values, 2, &plain, NULL),
           NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_RC(nacoscrypt_kms_decrypt(kms, "AAAA", 4, NULL, NULL, 0, &plain, &n),
           NACOSCRYPT_RESULT_INVALID_BASE64);
  CHECK(plain == (uint8_t *)0x1);

  CHECK_OK(nacoscrypt_kms_generate_data_key(kms, "alias/nacos-test", "AES_128", NULL, NULL, 0,
                                            &key, &key_n, &blob2, NULL));
  CHECK(key_n == 16);
  CHECK_OK(nacoscrypt_kms_decrypt(kms, blob2, strlen(blob2), NULL, NULL, 0, &plain, &n));
  CHECK(n == 16 && memcmp(plain, key, 16) == 0);
  nacoscrypt_bytes_free(plain);
  nacoscrypt_bytes_free(key);
  nacoscrypt_string_free(blob2);
  key = NULL;
  CHECK_RC(nacoscrypt_kms_generate_data_key(kms, "alias/nacos-test", "AES_512", NULL, NULL, 0,
                                            &key, &key_n, &blob2, NULL),
           NACOSCRYPT_RESULT_INVALID_ARGUMENT);
  CHECK_RC(nacoscrypt_kms_generate_data_key(kms, "alias/none", "AES_256", NULL, NULL, 0, &key,
                                            &key_n, &blob2, NULL),
           NACOSCRYPT_RESULT_UNKNOWN_KEY);
  CHECK_RC(nacoscrypt_kms_generate_data_key(kms, "alias/nacos-test", "AES_256", NULL, NULL, 0,
                                            &key, NULL, &blob2, NULL),
           NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK(key == NULL);
  CHECK_RC(nacoscrypt_kms_encrypt(kms, "alias/none", (const uint8_t *)"x", 1, NULL, NULL, 0,
                                  &blob2, NULL),
           NACOSCRYPT_RESULT_UNKNOWN_KEY);
  nacoscrypt_string_free(blob);
  nacoscrypt_kms_free(kms);
  nacoscrypt_keyring_free(k);
}

/* ---------------------------------------------------------------------------------------- */
/* doctor and migrate (issue 16)                                                             */
/* ---------------------------------------------------------------------------------------- */

static const char OLD_KEYRING[] =
    "key alias/old 11111111-1111-1111-1111-111111111111 AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n";
static const char NEW_KEYRING[] =
    "key alias/new 22222222-2222-2222-2222-222222222222 AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=\n";
/* The server plugin's key text for bytes 00..0f and "password=s3cret" under it, made with
 * Python `cryptography` following AesEncryptionPluginService. */
static const char PLUGIN_KEY[] = "MDAwMTAyMDMwNDA1MDYwNzA4MDkwYTBiMGMwZDBlMGY=";
static const char PLUGIN_CONTENT[] = "8e27654221ff9ad8f82f4a6dfcf9ed34";

static char *doctor_report(const nacoscrypt_kms *kms, const nacoscrypt_config_id *id,
                           const char *content, const char *edk, bool *healthy) {
  char *report = NULL;
  size_t len = 0;
  CHECK_OK(nacoscrypt_config_doctor(kms, NULL, id, content, strlen(content), edk, &report, &len,
                                    healthy));
  CHECK(report != NULL && strlen(report) == len);
  return report;
}

static void test_doctor_and_migrate(void) {
  nacoscrypt_keyring *old_k = parse_keyring(OLD_KEYRING, strlen(OLD_KEYRING));
  nacoscrypt_keyring *new_k = parse_keyring(NEW_KEYRING, strlen(NEW_KEYRING));
  nacoscrypt_kms *old_kms = kms_of(old_k), *new_kms = kms_of(new_k), *failing;
  nacoscrypt_config_id id = {"cipher-kms-aes-256-db", "G", ""};
  nacoscrypt_config_id plugin_id = {"cipher-aes-p", "G", ""};
  nacoscrypt_migrate_plan plan;
  test_kms t;
  char *content = NULL, *edk = NULL, *report, *d = NULL, *c = NULL, *e = NULL;
  size_t n = 0;
  uint32_t status = 99;
  bool healthy = true;

  CHECK_OK(nacoscrypt_config_encrypt(old_kms, &id, "password=s3cret", 15, "alias/old",
                                     NACOSCRYPT_FORMAT_NACOS, &content, &n, &edk, NULL));

  /* Without a key: a missing encryptedDataKey is found. */
  report = doctor_report(NULL, &id, content, "", &healthy);
  CHECK(!healthy && strstr(report, "\"code\":\"missing-encrypted-data-key\"") != NULL);
  nacoscrypt_string_free(report);
  /* With the right key: healthy, and the plaintext is never in the report. */
  report = doctor_report(old_kms, &id, content, edk, &healthy);
  CHECK(healthy && strstr(report, "\"ok\":true") != NULL && strstr(report, "s3cret") == NULL);
  nacoscrypt_string_free(report);
  /* A deleted key (another keyring): key-not-found. */
  report = doctor_report(new_kms, &id, content, edk, &healthy);
  CHECK(!healthy && strstr(report, "\"failedStep\":\"key-not-found\"") != NULL);
  nacoscrypt_string_free(report);
  /* An injected KMS fault: the kms step. */
  memset(&t, 0, sizeof t);
  t.fail_code = 7;
  t.fail_message = "throttled";
  failing = callback_kms(&t);
  report = doctor_report(failing, &id, content, edk, &healthy);
  CHECK(!healthy && strstr(report, "\"failedStep\":\"kms\"") != NULL);
  CHECK(strstr(report, "throttled") != NULL);
  nacoscrypt_string_free(report);
  /* A server plugin config opens with its own key. */
  report = doctor_report(NULL, &plugin_id, PLUGIN_CONTENT, PLUGIN_KEY, &healthy);
  CHECK(healthy && strstr(report, "\"format\":\"server-plugin\"") != NULL);
  nacoscrypt_string_free(report);

  /* rewrap old -> new: nacos content kept, the key re-wrapped. */
  memset(&plan, 0, sizeof plan);
  plan.source = old_kms;
  plan.target = new_kms;
  plan.key_id = "alias/new";
  plan.mode = NACOSCRYPT_MIGRATE_REWRAP;
  plan.scheme = NACOSCRYPT_SCHEME_KEEP;
  plan.format = NACOSCRYPT_FORMAT_KEEP;
  CHECK_OK(nacoscrypt_config_migrate(&plan, &id, content, n, edk, &status, &d, &c, &e));
  CHECK(status == NACOSCRYPT_MIGRATE_MIGRATED);
  CHECK_CSTR(d, "cipher-kms-aes-256-db");
  CHECK_CSTR(c, content);
  check_decrypts(new_kms, &id, c, strlen(c), e, "password=s3cret", 15);
  /* Fed back in: already migrated, nothing written. */
  {
    char *d2 = NULL, *c2 = NULL, *e2 = NULL;
    CHECK_OK(nacoscrypt_config_migrate(&plan, &id, c, strlen(c), e, &status, &d2, &c2, &e2));
    CHECK(status == NACOSCRYPT_MIGRATE_ALREADY_MIGRATED && d2 == NULL && c2 == NULL && e2 == NULL);
  }
  nacoscrypt_string_free(d);
  nacoscrypt_string_free(c);
  nacoscrypt_string_free(e);
  d = c = e = NULL;

  /* One failing entry: an error naming the step; the next call goes on. */
  CHECK_RC(nacoscrypt_config_migrate(&plan, &id, content, n, "", &status, &d, &c, &e),
           NACOSCRYPT_RESULT_INVALID_ENCRYPTED_DATA_KEY);
  CHECK(strncmp(last_message(), "step structure: ", 16) == 0);
  CHECK(d == NULL && c == NULL && e == NULL);
  plan.source = failing;
  CHECK_RC(nacoscrypt_config_migrate(&plan, &id, content, n, edk, &status, &d, &c, &e),
           NACOSCRYPT_RESULT_KMS);
  CHECK(strncmp(last_message(), "step kms: ", 10) == 0);

  /* Off the server plugin: renamed to the target scheme, v1 format. */
  plan.source = NULL;
  plan.mode = NACOSCRYPT_MIGRATE_REKEY;
  plan.scheme = NACOSCRYPT_SCHEME_KMS_AES_128;
  plan.format = NACOSCRYPT_FORMAT_V1;
  CHECK_OK(nacoscrypt_config_migrate(&plan, &plugin_id, PLUGIN_CONTENT, strlen(PLUGIN_CONTENT),
                                     PLUGIN_KEY, &status, &d, &c, &e));
  CHECK_CSTR(d, "cipher-kms-aes-128-p");
  CHECK(c != NULL && strncmp(c, "nc1:", 4) == 0);
  {
    nacoscrypt_config_id moved = {"cipher-kms-aes-128-p", "G", ""};
    check_decrypts(new_kms, &moved, c, strlen(c), e, "password=s3cret", 15);
  }
  nacoscrypt_string_free(d);
  nacoscrypt_string_free(c);
  nacoscrypt_string_free(e);

  /* Bad arguments are errors. */
  CHECK_RC(nacoscrypt_config_migrate(NULL, &id, content, n, edk, &status, &d, &c, &e),
           NACOSCRYPT_RESULT_NULL_POINTER);
  plan.mode = 9;
  CHECK_RC(nacoscrypt_config_migrate(&plan, &id, content, n, edk, &status, &d, &c, &e),
           NACOSCRYPT_RESULT_INVALID_ARGUMENT);
  CHECK_RC(nacoscrypt_config_doctor(NULL, NULL, &id, content, n, edk, NULL, NULL, NULL),
           NACOSCRYPT_RESULT_NULL_POINTER);

  nacoscrypt_string_free(content);
  nacoscrypt_string_free(edk);
  nacoscrypt_kms_free(failing);
  nacoscrypt_kms_free(old_kms);
  nacoscrypt_kms_free(new_kms);
  nacoscrypt_keyring_free(old_k);
  nacoscrypt_keyring_free(new_k);
}

/* ---------------------------------------------------------------------------------------- */
/* doctor and migrate over a generated corpus (issue 16)                                     */
/* ---------------------------------------------------------------------------------------- */

/* `true` if `report` names one of the `|`-separated steps as the first failing one. */
static int names_step(const char *report, const char *steps) {
  char needle[96];
  const char *p = steps;
  while (*p != '\0') {
    size_t n = strcspn(p, "|");
    snprintf(needle, sizeof needle, "\"failedStep\":\"%.*s\"", (int)n, p);
    if (strstr(report, needle) != NULL) return 1;
    p += n + (p[n] == '|');
  }
  return 0;
}

/* `true` if `message` starts with "step X: " for one of the `|`-separated steps X. */
static int starts_with_step(const char *message, const char *steps) {
  char prefix[96];
  const char *p = steps;
  while (*p != '\0') {
    size_t n = strcspn(p, "|");
    snprintf(prefix, sizeof prefix, "step %.*s: ", (int)n, p);
    if (strncmp(message, prefix, strlen(prefix)) == 0) return 1;
    p += n + (p[n] == '|');
  }
  return 0;
}

/* Diagnoses and checks the outcome: `steps` NULL for a config that decrypts (or, with neither
 * kms nor secret, a healthy static reading), else the first failing step (alternatives with |). */
static void doctor_expect(const nacoscrypt_kms *kms, const char *secret,
                          const nacoscrypt_config_id *id, const char *content, const char *edk,
                          const char *steps) {
  char *report = NULL;
  size_t len = 0;
  bool healthy = false;
  int ok;
  CHECK_OK(nacoscrypt_config_doctor(kms, secret, id, content, strlen(content), edk, &report, &len,
                                    &healthy));
  if (report == NULL) return;
  if (steps == NULL) {
    ok = healthy && (kms == NULL && secret == NULL ? strstr(report, "\"check\"") == NULL
                                                   : strstr(report, "\"check\":{\"ok\":true") != NULL);
  } else {
    ok = !healthy && names_step(report, steps);
  }
  CHECK(ok);
  if (!ok) fprintf(stderr, "  %s: want %s: %s\n", id->data_id, steps ? steps : "healthy", report);
  nacoscrypt_string_free(report);
}

/* Migrates one entry: `fail_step` NULL for success (the status is returned), else the step the
 * error message must start with (alternatives with |). */
static uint32_t migrate_expect(const nacoscrypt_migrate_plan *plan, const nacoscrypt_config_id *id,
                               const char *content, const char *edk, const char *fail_step,
                               char **d, char **c, char **e) {
  uint32_t status = 99;
  nacoscrypt_result rc;
  *d = *c = *e = NULL;
  rc = nacoscrypt_config_migrate(plan, id, content, strlen(content), edk, &status, d, c, e);
  if (fail_step == NULL) {
    CHECK(rc == NACOSCRYPT_RESULT_OK);
    if (rc != NACOSCRYPT_RESULT_OK) fprintf(stderr, "  %s: %s\n", id->data_id, last_message());
    return status;
  }
  CHECK(rc != NACOSCRYPT_RESULT_OK && starts_with_step(last_message(), fail_step));
  if (rc == NACOSCRYPT_RESULT_OK || !starts_with_step(last_message(), fail_step)) {
    fprintf(stderr, "  %s: want step %s: %s\n", id->data_id, fail_step, last_message());
  }
  CHECK(*d == NULL && *c == NULL && *e == NULL);
  return status;
}

static void free3(char *d, char *c, char *e) {
  nacoscrypt_string_free(d);
  nacoscrypt_string_free(c);
  nacoscrypt_string_free(e);
}

/* Every scheme in both formats, the server plugin's aes and doubleAes configs made by Python
 * `cryptography` at test time (plugin_corpus.h), missing and swapped encryptedDataKeys, a
 * deleted key and injected KMS faults: doctor's first failing step and migrate's result for
 * each, and reruns over the output (also with source = target) that skip. */
static void test_doctor_corpus(void) {
  static const char *const DATA_IDS[3] = {"cipher-kms-aes-256-db.yaml",
                                          "cipher-kms-aes-128-app.json", "cipher-token.txt"};
  static const uint32_t FORMATS[2] = {NACOSCRYPT_FORMAT_NACOS, NACOSCRYPT_FORMAT_V1};
  static const uint32_t TO_FORMATS[3] = {NACOSCRYPT_FORMAT_KEEP, NACOSCRYPT_FORMAT_NACOS,
                                         NACOSCRYPT_FORMAT_V1};
  static const uint32_t SCHEMES[3] = {NACOSCRYPT_SCHEME_KMS_AES_256, NACOSCRYPT_SCHEME_KMS_AES_128,
                                      NACOSCRYPT_SCHEME_DIRECT};
  static const char *const SCHEME_PREFIX[3] = {"cipher-kms-aes-256-", "cipher-kms-aes-128-",
                                               "cipher-"};
  static const uint8_t CB_KEY[32] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 9, 8, 7, 6, 5, 4,
                                     3, 2, 1, 0, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 9, 8};
  nacoscrypt_keyring *old_k = parse_keyring(OLD_KEYRING, strlen(OLD_KEYRING));
  nacoscrypt_keyring *new_k = parse_keyring(NEW_KEYRING, strlen(NEW_KEYRING));
  nacoscrypt_kms *old_kms = kms_of(old_k), *new_kms = kms_of(new_k), *failing, *flaky;
  char *content[3][2], *edk[3][2], *other_c = NULL, *other_e = NULL, *d, *c, *e, *d2, *c2, *e2;
  char plain[3][2][64];
  nacoscrypt_config_id ids[3];
  nacoscrypt_migrate_plan plan;
  test_kms fault, cb;
  size_t n = 0, i, f, m, t, p;

  memset(&fault, 0, sizeof fault);
  fault.fail_code = 7;
  fault.fail_message = "Rejected.Throttling: QPS Limit Exceeded";
  failing = callback_kms(&fault);

  /* The client-side corpus, written with the old keyring. */
  for (i = 0; i < 3; i++) {
    ids[i].data_id = DATA_IDS[i];
    ids[i].group = "G";
    ids[i].tenant = "prod";
    for (f = 0; f < 2; f++) {
      snprintf(plain[i][f], sizeof plain[i][f], "value-%u-%u & <x>", (unsigned)i, (unsigned)f);
      content[i][f] = edk[i][f] = NULL;
      CHECK_OK(nacoscrypt_config_encrypt(old_kms, &ids[i], plain[i][f], strlen(plain[i][f]),
                                         "alias/old", FORMATS[f], &content[i][f], &n,
                                         &edk[i][f], NULL));
    }
  }
  CHECK_OK(nacoscrypt_config_encrypt(old_kms, &ids[0], "another", 7, "alias/old",
                                     NACOSCRYPT_FORMAT_NACOS, &other_c, &n, &other_e, NULL));

  for (i = 0; i < 3; i++) {
    for (f = 0; f < 2; f++) {
      const nacoscrypt_config_id *id = &ids[i];
      const char *cc = content[i][f], *ee = edk[i][f];
      int envelope = i < 2;
      doctor_expect(NULL, NULL, id, cc, ee, NULL);          /* static reading: healthy */
      doctor_expect(old_kms, NULL, id, cc, ee, NULL);       /* decrypts */
      doctor_expect(new_kms, NULL, id, cc, ee, "key-not-found"); /* the key was deleted */
      doctor_expect(failing, NULL, id, cc, ee, "kms");      /* an injected fault */
      if (envelope) doctor_expect(old_kms, NULL, id, cc, "", "structure"); /* missing key */

      memset(&plan, 0, sizeof plan);
      plan.source = old_kms;
      plan.target = new_kms;
      plan.key_id = "alias/new";
      plan.scheme = NACOSCRYPT_SCHEME_KEEP;
      for (m = 0; m < 2; m++) {
        plan.mode = m == 0 ? NACOSCRYPT_MIGRATE_REWRAP : NACOSCRYPT_MIGRATE_REKEY;
        for (t = 0; t < 3; t++) {
          plan.format = TO_FORMATS[t];
          plan.source = old_kms;
          if (!envelope && plan.mode == NACOSCRYPT_MIGRATE_REWRAP) {
            migrate_expect(&plan, id, cc, ee, "scheme", &d, &c, &e);
            continue;
          }
          CHECK(migrate_expect(&plan, id, cc, ee, NULL, &d, &c, &e) == NACOSCRYPT_MIGRATE_MIGRATED);
          if (c == NULL) continue;
          CHECK_CSTR(d, id->data_id);
          check_decrypts(new_kms, id, c, strlen(c), e, plain[i][f], strlen(plain[i][f]));
          doctor_expect(new_kms, NULL, id, c, e, NULL);
          doctor_expect(old_kms, NULL, id, c, e, "key-not-found");
          if (plan.mode == NACOSCRYPT_MIGRATE_REWRAP && f == 0 && t != 2) CHECK_CSTR(c, cc);
          /* Fed back in: already migrated; also with the target as the source. */
          CHECK(migrate_expect(&plan, id, c, e, NULL, &d2, &c2, &e2) ==
                NACOSCRYPT_MIGRATE_ALREADY_MIGRATED);
          CHECK(d2 == NULL && c2 == NULL && e2 == NULL);
          plan.source = new_kms;
          CHECK(migrate_expect(&plan, id, c, e, NULL, &d2, &c2, &e2) ==
                NACOSCRYPT_MIGRATE_ALREADY_MIGRATED);
          free3(d, c, e);
        }
        plan.format = NACOSCRYPT_FORMAT_KEEP;
        if (!envelope && plan.mode == NACOSCRYPT_MIGRATE_REWRAP) continue;
        plan.source = new_kms; /* the deleted key */
        migrate_expect(&plan, id, cc, ee, "key-not-found", &d, &c, &e);
        plan.source = failing; /* the source refuses */
        migrate_expect(&plan, id, cc, ee, "kms", &d, &c, &e);
        plan.source = old_kms;
        plan.target = failing; /* the target refuses */
        migrate_expect(&plan, id, cc, ee, "kms", &d, &c, &e);
        plan.target = new_kms;
        if (envelope) migrate_expect(&plan, id, cc, "", "structure", &d, &c, &e);
      }
    }
  }

  /* Swapped encryptedDataKeys: another size, and another config's key of the same size. */
  memset(&plan, 0, sizeof plan);
  plan.source = old_kms;
  plan.target = new_kms;
  plan.key_id = "alias/new";
  plan.mode = NACOSCRYPT_MIGRATE_REKEY;
  plan.format = NACOSCRYPT_FORMAT_KEEP;
  doctor_expect(old_kms, NULL, &ids[0], content[0][0], edk[1][0], "data-key-length");
  migrate_expect(&plan, &ids[0], content[0][0], edk[1][0], "data-key-length", &d, &c, &e);
  doctor_expect(old_kms, NULL, &ids[0], content[0][0], other_e, "wrong-key|utf8");
  migrate_expect(&plan, &ids[0], content[0][0], other_e, "wrong-key|utf8", &d, &c, &e);
  doctor_expect(old_kms, NULL, &ids[0], content[0][1], edk[0][0], "wrong-key");
  migrate_expect(&plan, &ids[0], content[0][1], edk[0][0], "wrong-key", &d, &c, &e);

  /* A flaky target: refusing, then back (the run resumes), through the callback KMS. */
  memset(&cb, 0, sizeof cb);
  cb.key = CB_KEY;
  cb.key_len = sizeof CB_KEY;
  cb.key_blob = "Y2FsbGJhY2stZGF0YS1rZXktMjU2"; /* base64, as a service's blob is */
  cb.fail_code = 503;
  cb.fail_message = "ServiceUnavailableTemporary";
  flaky = callback_kms(&cb);
  plan.target = flaky;
  plan.key_id = "alias/cb";
  migrate_expect(&plan, &ids[0], content[0][0], edk[0][0], "kms", &d, &c, &e);
  doctor_expect(flaky, NULL, &ids[0], content[0][0], edk[0][0], "kms");
  cb.fail_code = 0;
  CHECK(migrate_expect(&plan, &ids[0], content[0][0], edk[0][0], NULL, &d, &c, &e) ==
        NACOSCRYPT_MIGRATE_MIGRATED);
  if (c != NULL) {
    CHECK_CSTR(e, "Y2FsbGJhY2stZGF0YS1rZXktMjU2");
    check_decrypts(flaky, &ids[0], c, strlen(c), e, plain[0][0], strlen(plain[0][0]));
    doctor_expect(flaky, NULL, &ids[0], c, e, NULL);
  }
  free3(d, c, e);

  /* The server plugin's configs, made by `cryptography`, onto the new keyring. */
  for (p = 0; p < GEN_PLUGIN_N; p++) {
    const gen_plugin_case *pc = &GEN_PLUGIN_CASES[p];
    nacoscrypt_config_id id = {pc->data_id, "G", ""};
    int dbl = strncmp(pc->data_id, "cipher-doubleAes-", 17) == 0;
    char *report = NULL;
    size_t len = 0;
    bool healthy = false;
    CHECK_OK(nacoscrypt_config_doctor(NULL, NULL, &id, pc->content, strlen(pc->content), pc->edk,
                                      &report, &len, &healthy));
    CHECK(healthy && report != NULL && strstr(report, "\"format\":\"server-plugin\"") != NULL);
    CHECK(dbl || strstr(report, "\"kind\":\"server-plugin-key\"") != NULL);
    nacoscrypt_string_free(report);
    doctor_expect(NULL, GEN_PLUGIN_SERVER_SECRET, &id, pc->content, pc->edk, NULL);
    doctor_expect(old_kms, GEN_PLUGIN_SERVER_SECRET, &id, pc->content, "", "structure");
    if (dbl) {
      /* Without the server secret: not checked; with the wrong one: the unwrap fails. */
      report = NULL;
      CHECK_OK(nacoscrypt_config_doctor(old_kms, NULL, &id, pc->content, strlen(pc->content),
                                        pc->edk, &report, &len, &healthy));
      CHECK(report != NULL && strstr(report, "\"code\":\"not-checked\"") != NULL &&
            strstr(report, "\"check\"") == NULL);
      nacoscrypt_string_free(report);
      doctor_expect(NULL, GEN_PLUGIN_OTHER_SECRET, &id, pc->content, pc->edk,
                    "wrong-key|utf8|structure");
    } else {
      /* Another aes config's key: the wrong key. */
      const char *swapped = GEN_PLUGIN_CASES[(p + 2) % GEN_PLUGIN_N].edk;
      doctor_expect(NULL, GEN_PLUGIN_SERVER_SECRET, &id, pc->content, swapped,
                    "wrong-key|utf8");
    }

    memset(&plan, 0, sizeof plan);
    plan.target = new_kms;
    plan.key_id = "alias/new";
    plan.mode = NACOSCRYPT_MIGRATE_REKEY;
    plan.scheme = NACOSCRYPT_SCHEME_KEEP;
    plan.format = NACOSCRYPT_FORMAT_KEEP;
    plan.plugin_server_secret = GEN_PLUGIN_SERVER_SECRET;
    migrate_expect(&plan, &id, pc->content, pc->edk, "scheme", &d, &c, &e);
    for (i = 0; i < 3; i++) {
      for (f = 0; f < 2; f++) {
        const char *rest = pc->data_id + (dbl ? 17 : 11);
        char want_id[128];
        nacoscrypt_config_id moved;
        plan.scheme = SCHEMES[i];
        plan.format = FORMATS[f];
        plan.source = NULL;
        plan.plugin_server_secret = dbl ? NULL : GEN_PLUGIN_SERVER_SECRET;
        if (dbl) migrate_expect(&plan, &id, pc->content, pc->edk, "key-not-found", &d, &c, &e);
        plan.plugin_server_secret = GEN_PLUGIN_SERVER_SECRET;
        plan.target = failing;
        migrate_expect(&plan, &id, pc->content, pc->edk, "kms", &d, &c, &e);
        plan.target = new_kms;
        CHECK(migrate_expect(&plan, &id, pc->content, pc->edk, NULL, &d, &c, &e) ==
              NACOSCRYPT_MIGRATE_MIGRATED);
        if (c == NULL) continue;
        snprintf(want_id, sizeof want_id, "%s%s", SCHEME_PREFIX[i], rest);
        CHECK_CSTR(d, want_id);
        CHECK((strncmp(c, "nc1:", 4) == 0) == (FORMATS[f] == NACOSCRYPT_FORMAT_V1));
        moved.data_id = d;
        moved.group = "G";
        moved.tenant = "";
        check_decrypts(new_kms, &moved, c, strlen(c), e, pc->plain, strlen(pc->plain));
        /* The output fed back in, as the CLI runs it (source = target): already migrated. */
        plan.source = new_kms;
        CHECK(migrate_expect(&plan, &moved, c, e, NULL, &d2, &c2, &e2) ==
              NACOSCRYPT_MIGRATE_ALREADY_MIGRATED);
        free3(d, c, e);
      }
    }
  }

  for (i = 0; i < 3; i++) {
    for (f = 0; f < 2; f++) {
      nacoscrypt_string_free(content[i][f]);
      nacoscrypt_string_free(edk[i][f]);
    }
  }
  nacoscrypt_string_free(other_c);
  nacoscrypt_string_free(other_e);
  nacoscrypt_kms_free(flaky);
  nacoscrypt_kms_free(failing);
  nacoscrypt_kms_free(old_kms);
  nacoscrypt_kms_free(new_kms);
  nacoscrypt_keyring_free(old_k);
  nacoscrypt_keyring_free(new_k);
}

/* ---------------------------------------------------------------------------------------- */
/* console export ZIPs (issue 16)                                                            */
/* ---------------------------------------------------------------------------------------- */

static void test_export_zip(void) {
  nacoscrypt_keyring *k = parse_keyring(OLD_KEYRING, strlen(OLD_KEYRING));
  nacoscrypt_kms *kms = kms_of(k);
  nacoscrypt_config_id id = {"cipher-kms-aes-256-db.yaml", "G", "prod"};
  char *content = NULL, *edk = NULL, *report = NULL;
  char lines[4096], sidecar[2048], needle[2048];
  uint8_t *zip = NULL;
  size_t n = 0, zip_len = 0, report_len = 0;

  CHECK_OK(nacoscrypt_config_encrypt(kms, &id, "password=s3cret", 15, "alias/old",
                                     NACOSCRYPT_FORMAT_NACOS, &content, &n, &edk, NULL));
  /* As the console exports it: no encryptedDataKey; a plain config beside it. */
  snprintf(lines, sizeof lines,
           "{\"dataId\":\"%s\",\"group\":\"G\",\"content\":\"%s\",\"type\":\"yaml\"}\n"
           "{\"dataId\":\"plain.properties\",\"group\":\"G\",\"content\":\"a=\\\"1\\\"\\n\"}\n",
           id.data_id, content);
  CHECK_OK(nacoscrypt_export_write(lines, strlen(lines), 1700000000, &zip, &zip_len));
  CHECK(zip != NULL && zip_len > 22 && zip[0] == 'P' && zip[1] == 'K');

  /* Read back with the sidecar that `config encrypt` printed: the key is filled in. */
  snprintf(sidecar, sizeof sidecar,
           "{\"dataId\":\"%s\",\"group\":\"G\",\"tenant\":\"prod\",\"encryptedDataKey\":\"%s\"}\n"
           "{\"dataId\":\"other\",\"group\":\"G\",\"tenant\":\"prod\",\"encryptedDataKey\":\"x\"}\n",
           id.data_id, edk);
  CHECK_OK(nacoscrypt_export_read(zip, zip_len, "prod", sidecar, strlen(sidecar), &report,
                                  &report_len));
  CHECK(report != NULL && strlen(report) == report_len);
  CHECK(strncmp(report, "{\"metadata\":\"v2\",\"entries\":[", 28) == 0);
  snprintf(needle, sizeof needle, "\"content\":\"%s\",\"encryptedDataKey\":\"%s\",\"type\":\"yaml\"",
           content, edk);
  CHECK(strstr(report, needle) != NULL);
  CHECK(strstr(report, "\"content\":\"a=\\\"1\\\"\\n\",\"encryptedDataKey\":\"\",\"type\":\"text\"") !=
        NULL);
  CHECK(strstr(report, "\"sidecar\":{\"filled\":1,\"replaced\":[],\"unused\":[2],\"conflicting\":[]}") !=
        NULL);
  CHECK(strstr(report, "\"tenant\":\"prod\"") != NULL);
  nacoscrypt_string_free(report);
  nacoscrypt_bytes_free(zip);
  report = NULL;
  zip = NULL;

  /* Written with its key, the export keeps it: read back without a sidecar, it decrypts. */
  snprintf(lines, sizeof lines,
           "{\"dataId\":\"%s\",\"group\":\"G\",\"content\":\"%s\",\"encryptedDataKey\":\"%s\"}",
           id.data_id, content, edk);
  CHECK_OK(nacoscrypt_export_write(lines, strlen(lines), 0, &zip, &zip_len));
  CHECK_OK(nacoscrypt_export_read(zip, zip_len, "prod", NULL, 0, &report, NULL));
  snprintf(needle, sizeof needle, "\"encryptedDataKey\":\"%s\"", edk);
  CHECK(strstr(report, needle) != NULL && strstr(report, "\"sidecar\":null") != NULL);
  check_decrypts(kms, &id, content, n, edk, "password=s3cret", 15);
  nacoscrypt_string_free(report);
  report = NULL;

  /* Bad input: clear errors, no outputs written. */
  CHECK_RC(nacoscrypt_export_read((const uint8_t *)"not a zip", 9, "", NULL, 0, &report, NULL),
           NACOSCRYPT_RESULT_INVALID_ARGUMENT);
  CHECK(report == NULL);
  CHECK_RC(nacoscrypt_export_read(zip, zip_len, "", NULL, 3, &report, NULL),
           NACOSCRYPT_RESULT_INVALID_ARGUMENT);
  CHECK_RC(nacoscrypt_export_read(zip, zip_len, "", "{\"dataId\":1}", 12, &report, NULL),
           NACOSCRYPT_RESULT_INVALID_ARGUMENT);
  CHECK(strstr(last_message(), "sidecar") != NULL);
  CHECK_RC(nacoscrypt_export_read(NULL, 1, "", NULL, 0, &report, NULL),
           NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_RC(nacoscrypt_export_read(zip, zip_len, NULL, NULL, 0, &report, NULL),
           NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_RC(nacoscrypt_export_read(zip, zip_len, "", NULL, 0, NULL, NULL),
           NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK(report == NULL);
  nacoscrypt_bytes_free(zip);
  zip = NULL;
  CHECK_RC(nacoscrypt_export_write("\n{\"dataId\":\"d\",\"group\":\"g\"}", 27, 0, &zip, &zip_len),
           NACOSCRYPT_RESULT_INVALID_ARGUMENT);
  CHECK(strstr(last_message(), "line 2") != NULL);
  CHECK_RC(nacoscrypt_export_write("{\"dataId\":\"a/b\",\"group\":\"g\",\"content\":\"\"}", 41, 0,
                                   &zip, &zip_len),
           NACOSCRYPT_RESULT_INVALID_ARGUMENT);
  CHECK_RC(nacoscrypt_export_write("", 0, 0, &zip, NULL), NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_RC(nacoscrypt_export_write(NULL, 1, 0, &zip, &zip_len), NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK(zip == NULL);
  /* No entries at all: an export with only the metadata file. */
  CHECK_OK(nacoscrypt_export_write("", 0, 0, &zip, &zip_len));
  CHECK_OK(nacoscrypt_export_read(zip, zip_len, "", NULL, 0, &report, NULL));
  CHECK(strstr(report, "\"entries\":[]") != NULL);
  nacoscrypt_string_free(report);
  nacoscrypt_bytes_free(zip);

  nacoscrypt_string_free(content);
  nacoscrypt_string_free(edk);
  nacoscrypt_kms_free(kms);
  nacoscrypt_keyring_free(k);
}

int main(void) {
  snprintf(g_dir, sizeof g_dir, "%s", "/tmp/nacoscrypt-ffi-test-XXXXXX");
  if (mkdtemp(g_dir) == NULL) {
    perror("mkdtemp");
    return 2;
  }
  test_basics();
  test_secret_key_vectors();
  test_sign_vectors();
  test_verify_vectors();
  test_token_api();
  test_cache();
  test_identity();
  test_login_json_and_settings();
  test_ecb_vectors();
  test_local_kms_vectors();
  test_config_round_trips();
  test_config_errors();
  test_keyring_api();
  test_keyring_follows_file();
  test_callback_kms();
  test_kms_primitives();
  test_doctor_and_migrate();
  test_doctor_corpus();
  test_export_zip();
  unlink(path_in_dir("bad-id.keyring"));
  unlink(path_in_dir("bad-id.keyring.lock"));
  unlink(path_in_dir("api.keyring.lock"));
  rmdir(g_dir);
#ifdef NACOSCRYPT_TESTING
  /* Every string and handle the suite received was freed. */
  CHECK(nacoscrypt_test_live_objects() == 0);
  if (nacoscrypt_test_live_objects() != 0) {
    fprintf(stderr, "%ld library objects still allocated\n", (long)nacoscrypt_test_live_objects());
  }
#endif
  return test_summary(SUITE_NAME);
}
