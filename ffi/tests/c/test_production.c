/* Issue 17 in C: the token keeper (THREADS pthreads asking at once cause one login; a 403
 * forces one re-login; a failing login is NACOSCRYPT_RESULT_LOGIN_FAILED with the callback's message),
 * revocation by user (manager and cache), identity rotation, and the settings audit. Run under
 * AddressSanitizer + UBSan by scripts/test-ffi.sh. */
#define _XOPEN_SOURCE 700

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nacoscrypt.h"
#include "test_util.h"

#define THREADS 16
#define NOW_MS INT64_C(1700000000000)

typedef struct {
  pthread_mutex_t lock;
  int logins;
  int destroyed;
  int fail_with; /* non-zero: the callback fails with this code */
} login_state;

static int login_cb(void *userdata, nacoscrypt_login_output *out) {
  login_state *s = (login_state *)userdata;
  char json[128];
  int n;
  struct timespec pause = {0, 20 * 1000 * 1000}; /* 20 ms: the other threads arrive meanwhile */
  pthread_mutex_lock(&s->lock);
  n = ++s->logins;
  pthread_mutex_unlock(&s->lock);
  nanosleep(&pause, NULL);
  if (s->fail_with != 0) {
    (void)nacoscrypt_login_output_set_error_message(out, "HTTP 403: unknown user");
    return s->fail_with;
  }
  if (n % 2 == 1) {
    snprintf(json, sizeof json,
             "{\"accessToken\":\"token-%d\",\"tokenTtl\":18000,\"globalAdmin\":false}", n);
    return nacoscrypt_login_output_set_response_json(out, json, strlen(json)) ==
                   NACOSCRYPT_RESULT_OK
               ? 0
               : 99;
  }
  snprintf(json, sizeof json, "token-%d", n);
  return nacoscrypt_login_output_set_token(out, json, 18000) == NACOSCRYPT_RESULT_OK ? 0 : 99;
}

static void destroy_cb(void *userdata) { ((login_state *)userdata)->destroyed++; }

typedef struct {
  const nacoscrypt_token_keeper *keeper;
  int ok;
  int same;
} worker_args;

static void *worker(void *arg) {
  worker_args *w = (worker_args *)arg;
  int i;
  for (i = 0; i < 200; i++) {
    char *token = NULL;
    size_t len = 0;
    if (nacoscrypt_token_keeper_token(w->keeper, NOW_MS, &token, &len) == NACOSCRYPT_RESULT_OK) {
      w->ok++;
      w->same += (len == 7 && strcmp(token, "token-1") == 0);
      nacoscrypt_string_free(token);
    }
  }
  return NULL;
}

static void test_keeper_threads(void) {
  login_state s;
  nacoscrypt_token_keeper_options options;
  nacoscrypt_token_keeper *keeper = NULL;
  pthread_t threads[THREADS];
  worker_args args[THREADS];
  char *token = NULL;
  size_t len = 0;
  bool stale = false;
  int i;
  int64_t refresh;

  memset(&s, 0, sizeof s);
  pthread_mutex_init(&s.lock, NULL);
  memset(&options, 0, sizeof options);
  options.login = login_cb;
  options.userdata = &s;
  options.destroy = destroy_cb;
  options.jitter_window_secs = -1;
  CHECK_OK(nacoscrypt_token_keeper_new(&options, &keeper));

  for (i = 0; i < THREADS; i++) {
    args[i].keeper = keeper;
    args[i].ok = 0;
    args[i].same = 0;
    CHECK(pthread_create(&threads[i], NULL, worker, &args[i]) == 0);
  }
  for (i = 0; i < THREADS; i++) {
    CHECK(pthread_join(threads[i], NULL) == 0);
    CHECK(args[i].ok == 200);
    CHECK(args[i].same == 200);
  }
  CHECK(s.logins == 1);
  CHECK(nacoscrypt_token_keeper_login_count(keeper) == 1);
  CHECK(nacoscrypt_token_keeper_ttl(keeper) == 18000);
  /* Refresh within [t + 0.8 ttl, t + 0.9 ttl]. */
  refresh = nacoscrypt_token_keeper_refresh_at_ms(keeper);
  CHECK(refresh >= NOW_MS + INT64_C(14400000) && refresh <= NOW_MS + INT64_C(16200000));

  /* A 403 for an older token changes nothing; for the current one, one re-login. */
  CHECK_OK(nacoscrypt_token_keeper_forbidden(keeper, "token-0", 7, NOW_MS + 1, &stale));
  CHECK(!stale);
  CHECK_OK(nacoscrypt_token_keeper_forbidden(keeper, "token-1", 7, NOW_MS + 1, &stale));
  CHECK(stale);
  CHECK_OK(nacoscrypt_token_keeper_token(keeper, NOW_MS + 2, &token, &len));
  CHECK_STR(token, len, "token-2", 7);
  nacoscrypt_string_free(token);
  token = NULL;
  CHECK(s.logins == 2);
  /* At the refresh point a new login. */
  CHECK_OK(nacoscrypt_token_keeper_token(keeper, NOW_MS + INT64_C(16300000), &token, NULL));
  CHECK_CSTR(token, "token-3");
  nacoscrypt_string_free(token);
  token = NULL;

  CHECK_RC(nacoscrypt_token_keeper_token(NULL, NOW_MS, &token, &len), NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_RC(nacoscrypt_token_keeper_token(keeper, NOW_MS, NULL, &len), NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK(nacoscrypt_token_keeper_login_count(NULL) == 0);

  nacoscrypt_token_keeper_free(keeper);
  CHECK(s.destroyed == 1);
  pthread_mutex_destroy(&s.lock);
}

static void test_keeper_failures(void) {
  login_state s;
  nacoscrypt_token_keeper_options options;
  nacoscrypt_token_keeper *keeper = NULL;
  char *token = NULL;

  memset(&s, 0, sizeof s);
  pthread_mutex_init(&s.lock, NULL);
  s.fail_with = 42;
  memset(&options, 0, sizeof options);
  options.login = login_cb;
  options.userdata = &s;
  options.destroy = destroy_cb;
  options.jitter_window_secs = 0;
  options.min_backoff_ms = 500;
  options.max_backoff_ms = 4000;
  CHECK_OK(nacoscrypt_token_keeper_new(&options, &keeper));
  CHECK_RC(nacoscrypt_token_keeper_token(keeper, NOW_MS, &token, NULL), NACOSCRYPT_RESULT_LOGIN_FAILED);
  CHECK(strstr(last_message(), "code 42") != NULL);
  CHECK(strstr(last_message(), "HTTP 403: unknown user") != NULL);
  /* Backing off: no new login for 500 ms. */
  CHECK_RC(nacoscrypt_token_keeper_token(keeper, NOW_MS + 499, &token, NULL), NACOSCRYPT_RESULT_LOGIN_FAILED);
  CHECK(s.logins == 1);
  CHECK_RC(nacoscrypt_token_keeper_token(keeper, NOW_MS + 500, &token, NULL), NACOSCRYPT_RESULT_LOGIN_FAILED);
  CHECK(s.logins == 2);
  nacoscrypt_token_keeper_free(keeper);
  CHECK(s.destroyed == 1);

  /* Bad options: no callback, backoff out of order (destroy is then not called). */
  options.login = NULL;
  CHECK_RC(nacoscrypt_token_keeper_new(&options, &keeper), NACOSCRYPT_RESULT_NULL_POINTER);
  options.login = login_cb;
  options.min_backoff_ms = 5000;
  options.max_backoff_ms = 10;
  CHECK_RC(nacoscrypt_token_keeper_new(&options, &keeper), NACOSCRYPT_RESULT_INVALID_ARGUMENT);
  CHECK_RC(nacoscrypt_token_keeper_new(NULL, &keeper), NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK(s.destroyed == 1);
  pthread_mutex_destroy(&s.lock);
}

static void test_revocation(void) {
  static const uint8_t key_bytes[32] = {4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
                                        4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4};
  nacoscrypt_secret_key *key = NULL;
  nacoscrypt_token_manager *manager = NULL;
  nacoscrypt_token_cache *cache = NULL;
  nacoscrypt_revocations *revoked = NULL;
  nacoscrypt_access_token *old_token = NULL, *new_token = NULL;
  const char *text;
  size_t len = 0;
  bool found = true;
  int64_t nb = 0;
  char *sub = NULL;

  CHECK_OK(nacoscrypt_secret_key_from_bytes(key_bytes, 32, false, &key));
  CHECK_OK(nacoscrypt_token_manager_new(key, NULL, 0, 0, 0, &manager));
  CHECK_OK(nacoscrypt_token_cache_new(manager, &cache));
  CHECK_OK(nacoscrypt_revocations_new(&revoked));
  CHECK_OK(nacoscrypt_token_cache_set_revocations(cache, revoked));

  CHECK_OK(nacoscrypt_token_cache_issue(cache, "alice", 1000, &old_token));
  text = nacoscrypt_access_token_text(old_token, &len);
  CHECK_OK(nacoscrypt_token_cache_verify(cache, text, len, 1001, NULL, NULL, NULL));
  CHECK_OK(nacoscrypt_token_manager_verify_not_revoked(manager, revoked, text, len, 1001, &sub,
                                                        NULL, NULL));
  CHECK_CSTR(sub, "alice");
  nacoscrypt_string_free(sub);

  CHECK_OK(nacoscrypt_revocations_not_before(revoked, "alice", &found, &nb));
  CHECK(!found);
  /* alice changes her password at t = 1010. */
  CHECK_OK(nacoscrypt_revocations_revoke_before(revoked, "alice", 1010));
  CHECK_OK(nacoscrypt_revocations_revoke_before(revoked, "alice", 500)); /* kept: 1010 */
  CHECK_OK(nacoscrypt_revocations_not_before(revoked, "alice", &found, &nb));
  CHECK(found && nb == 1010);
  CHECK(nacoscrypt_revocations_len(revoked) == 1);
  CHECK_RC(nacoscrypt_token_cache_verify(cache, text, len, 1011, NULL, NULL, NULL),
           NACOSCRYPT_RESULT_INVALID_CLAIMS);
  CHECK(strstr(last_message(), "revoked") != NULL);
  CHECK_CSTR(nacoscrypt_last_error_nacos_message(), "token invalid!");
  CHECK_RC(nacoscrypt_token_manager_verify_not_revoked(manager, revoked, text, len, 1011, NULL,
                                                        NULL, NULL),
           NACOSCRYPT_RESULT_INVALID_CLAIMS);
  /* The plain manager does not consult the store. */
  CHECK_OK(nacoscrypt_token_manager_verify(manager, text, len, 1011, NULL, NULL, NULL));

  CHECK_OK(nacoscrypt_token_cache_issue(cache, "alice", 1011, &new_token));
  CHECK(strcmp(nacoscrypt_access_token_text(new_token, NULL), text) != 0);
  text = nacoscrypt_access_token_text(new_token, &len);
  CHECK_OK(nacoscrypt_token_cache_verify(cache, text, len, 1012, NULL, NULL, NULL));

  CHECK_OK(nacoscrypt_revocations_forget(revoked, "alice"));
  CHECK(nacoscrypt_revocations_len(revoked) == 0);
  CHECK_OK(nacoscrypt_revocations_revoke_now(revoked, "bob"));
  CHECK_RC(nacoscrypt_revocations_revoke_before(revoked, NULL, 1), NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_RC(nacoscrypt_token_manager_verify_not_revoked(manager, NULL, text, len, 1, NULL, NULL,
                                                        NULL),
           NACOSCRYPT_RESULT_NULL_POINTER);

  /* The cache keeps its share of the store after the caller frees its handle. */
  nacoscrypt_revocations_free(revoked);
  CHECK_OK(nacoscrypt_token_cache_verify(cache, text, len, 1013, NULL, NULL, NULL));
  nacoscrypt_access_token_free(old_token);
  nacoscrypt_access_token_free(new_token);
  nacoscrypt_token_cache_free(cache);
  nacoscrypt_token_manager_free(manager);
  nacoscrypt_secret_key_free(key);
}

static void test_identity_rotation(void) {
  const char *values[2] = {"new-5f1c", "old-d2f8"};
  const char *bad[2] = {"new-5f1c", "security"};
  nacoscrypt_server_identity *id = NULL;
  bool matches = false;

  CHECK_OK(nacoscrypt_server_identity_new_rotating("X-Peer", values, 2, false, &id));
  CHECK_OK(nacoscrypt_server_identity_matches_header(id, "x-peer", "new-5f1c", &matches));
  CHECK(matches);
  CHECK_OK(nacoscrypt_server_identity_matches_header(id, "x-peer", "old-d2f8", &matches));
  CHECK(matches);
  CHECK_OK(nacoscrypt_server_identity_matches_value(id, "old-d2f9", 8, &matches));
  CHECK(!matches);
  nacoscrypt_server_identity_free(id);
  id = NULL;
  CHECK_RC(nacoscrypt_server_identity_new_rotating("X-Peer", bad, 2, false, &id),
           NACOSCRYPT_RESULT_PUBLICLY_KNOWN_KEY);
  CHECK_RC(nacoscrypt_server_identity_new_rotating("X-Peer", values, 0, false, &id),
           NACOSCRYPT_RESULT_INVALID_ARGUMENT);
  CHECK_RC(nacoscrypt_server_identity_new_rotating("X-Peer", NULL, 2, false, &id),
           NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK(id == NULL);
}

static void test_audit(void) {
  static const char props[] =
      "nacos.core.auth.enabled=${NACOS_AUTH_ENABLE:false}\n"
      "nacos.core.auth.plugin.nacos.token.secret.key="
      "SecretKey012345678901234567890123456789012345678901234567890123456789\n"
      "nacos.core.auth.server.identity.key=serverIdentity\n"
      "nacos.core.auth.server.identity.value=security\n";
  const char *names[1] = {"NACOS_AUTH_ENABLE"};
  const char *values[1] = {"true"};
  const char *good_names[4] = {"NACOS_AUTH_ENABLE", "NACOS_AUTH_TOKEN", "NACOS_AUTH_IDENTITY_KEY",
                               "NACOS_AUTH_IDENTITY_VALUE"};
  const char *good_values[4] = {"true", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "X-Peer",
                                "9c1f0e"};
  char *json = NULL;
  size_t len = 0, errors = 0, warnings = 0;

  CHECK_OK(nacoscrypt_auth_audit(props, strlen(props), names, values, 1, &json, &len, &errors,
                                 &warnings));
  CHECK(errors == 2 && warnings == 1);
  CHECK(json != NULL && strlen(json) == len);
  CHECK(strstr(json, "\"public_secret_key\"") != NULL);
  CHECK(strstr(json, "\"auth_disabled\"") == NULL); /* NACOS_AUTH_ENABLE=true */
  CHECK(strstr(json, "SecretKey0123") == NULL);
  nacoscrypt_string_free(json);
  json = NULL;

  CHECK_OK(nacoscrypt_auth_audit(NULL, 0, good_names, good_values, 4, &json, NULL, &errors, NULL));
  CHECK_CSTR(json, "{\"ok\":true,\"errors\":0,\"warnings\":0,\"findings\":[]}");
  CHECK(errors == 0);
  nacoscrypt_string_free(json);
  json = NULL;

  CHECK_OK(nacoscrypt_auth_audit(NULL, 0, NULL, NULL, 0, &json, NULL, &errors, NULL));
  CHECK(errors >= 3); /* auth off, no secret, no identity */
  nacoscrypt_string_free(json);
  CHECK_RC(nacoscrypt_auth_audit(NULL, 0, NULL, NULL, 0, NULL, NULL, NULL, NULL),
           NACOSCRYPT_RESULT_NULL_POINTER);
  CHECK_RC(nacoscrypt_auth_audit(NULL, 0, NULL, values, 1, &json, NULL, NULL, NULL),
           NACOSCRYPT_RESULT_NULL_POINTER);
}

int main(void) {
  test_keeper_threads();
  test_keeper_failures();
  test_revocation();
  test_identity_rotation();
  test_audit();
#ifdef NACOSCRYPT_TESTING
  CHECK(nacoscrypt_test_live_objects() == 0);
#endif
  return test_summary("ffi-c-production");
}
