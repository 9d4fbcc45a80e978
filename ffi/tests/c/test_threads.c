/* The threaded C test: 8 threads share one token manager (the verifier), one token cache and
 * one keyring (through one KMS handle) and each does ITERATIONS rounds of verify + encrypt +
 * decrypt, with no error. Run under AddressSanitizer + UBSan by scripts/test-ffi.sh. */
#define _XOPEN_SOURCE 700

#include <pthread.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nacoscrypt.h"
#include "test_util.h"
#include "vectors.h"

#ifndef THREADS
#define THREADS 8
#endif
#ifndef ITERATIONS
#define ITERATIONS 20000
#endif
#define TOKENS 4
#define NOW INT64_C(1700000000)

typedef struct {
  const nacoscrypt_token_manager *manager;
  nacoscrypt_token_cache *cache;
  const nacoscrypt_kms *kms;
  const char *tokens[TOKENS];
  size_t token_lens[TOKENS];
  int index;
  long ok;
  long errors;
} worker_args;

static void fail(worker_args *w, const char *what, nacoscrypt_result rc) {
  char msg[512];
  size_t n = 0;
  w->errors++;
  (void)nacoscrypt_last_error_message(msg, sizeof msg, &n);
  if (w->errors <= 5) {
    fprintf(stderr, "thread %d: %s returned %u: %s\n", w->index, what, (unsigned)rc, msg);
  }
}

static void *worker(void *arg) {
  static const char *data_ids[3] = {"cipher-kms-aes-256-db.properties",
                                    "cipher-kms-aes-128-app.yaml", "cipher-token.json"};
  worker_args *w = (worker_args *)arg;
  char plain[128], user[32];
  int j;
  snprintf(user, sizeof user, "user-%d", w->index);
  for (j = 0; j < ITERATIONS; j++) {
    nacoscrypt_result rc;
    int k = j % TOKENS;
    int64_t exp = 0;
    char *sub = NULL, *content = NULL, *edk = NULL, *out = NULL;
    size_t n = 0, out_n = 0, plain_n;
    nacoscrypt_config_id id;
    nacoscrypt_format format = (j & 1) ? NACOSCRYPT_FORMAT_V1 : NACOSCRYPT_FORMAT_NACOS;

    /* verify: the shared manager, with the subject every 16th time */
    rc = nacoscrypt_token_manager_verify(w->manager, w->tokens[k], w->token_lens[k], NOW,
                                         (j % 16 == 0) ? &sub : NULL, NULL, &exp);
    if (rc != NACOSCRYPT_RESULT_OK || exp != NOW + 18000) {
      fail(w, "token_manager_verify", rc);
    } else {
      w->ok++;
    }
    if (sub != NULL) {
      if (strncmp(sub, "subject-", 8) != 0) fail(w, "subject", rc);
      nacoscrypt_string_free(sub);
    }
    /* verify: the shared cache; a login now and then (a writer under the lock) */
    rc = nacoscrypt_token_cache_verify(w->cache, w->tokens[k], w->token_lens[k], NOW, NULL, NULL,
                                       NULL);
    if (rc != NACOSCRYPT_RESULT_OK) fail(w, "token_cache_verify", rc); else w->ok++;
    if (j % 256 == 0) {
      nacoscrypt_access_token *t = NULL;
      rc = nacoscrypt_token_cache_issue(w->cache, user, NOW + j % 2, &t);
      if (rc != NACOSCRYPT_RESULT_OK) fail(w, "token_cache_issue", rc); else w->ok++;
      nacoscrypt_access_token_free(t);
    }
    /* encrypt + decrypt: the shared keyring, every scheme and both formats */
    id.data_id = data_ids[j % 3];
    id.group = "DEFAULT_GROUP";
    id.tenant = (j % 5 == 0) ? "" : "prod";
    plain_n = (size_t)snprintf(plain, sizeof plain, "password=thread-%d-iteration-%d", w->index, j);
    rc = nacoscrypt_config_encrypt(w->kms, &id, plain, plain_n, "alias/nacos-test", format,
                                   &content, &n, &edk, NULL);
    if (rc != NACOSCRYPT_RESULT_OK) {
      fail(w, "config_encrypt", rc);
      continue;
    }
    rc = nacoscrypt_config_decrypt(w->kms, &id, content, n, edk, &out, &out_n);
    if (rc != NACOSCRYPT_RESULT_OK || out_n != plain_n || memcmp(out, plain, plain_n) != 0) {
      fail(w, "config_decrypt", rc);
    } else {
      w->ok++;
    }
    nacoscrypt_string_free(out);
    nacoscrypt_string_free(content);
    nacoscrypt_string_free(edk);
  }
  return NULL;
}

/* FORK_DRAWS data keys from `kms` into `out` (32 bytes each); 0 on success. */
#define FORK_DRAWS 200
static int draw_keys(const nacoscrypt_kms *kms, uint8_t *out) {
  int i;
  for (i = 0; i < FORK_DRAWS; i++) {
    uint8_t *dk = NULL;
    size_t dk_len = 0;
    char *blob = NULL;
    if (nacoscrypt_kms_generate_data_key(kms, "alias/nacos-test", "AES_256", NULL, NULL, 0, &dk,
                                         &dk_len, &blob, NULL) != NACOSCRYPT_RESULT_OK ||
        dk_len != 32) {
      return -1;
    }
    memcpy(out + 32 * i, dk, 32);
    nacoscrypt_bytes_free(dk);
    nacoscrypt_string_free(blob);
  }
  return 0;
}

/* A pre-forking server: after the library has drawn randomness (its per-thread buffer is warm),
 * the process forks; parent and child never hand out the same data key (the kernel wipes the
 * buffer in the child). */
static void test_fork_never_repeats_a_data_key(const nacoscrypt_kms *kms) {
  static uint8_t warm[32 * FORK_DRAWS], parent[32 * FORK_DRAWS], child[32 * FORK_DRAWS];
  int fds[2], status = 0, i, j, same = 0;
  size_t got = 0;
  pid_t pid;
  CHECK(draw_keys(kms, warm) == 0);
  CHECK(pipe(fds) == 0);
  pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    size_t off = 0;
    if (draw_keys(kms, child) != 0) _exit(2);
    while (off < sizeof child) {
      ssize_t n = write(fds[1], child + off, sizeof child - off);
      if (n <= 0) _exit(3);
      off += (size_t)n;
    }
    _exit(0);
  }
  close(fds[1]);
  CHECK(draw_keys(kms, parent) == 0);
  while (got < sizeof child) {
    ssize_t n = read(fds[0], child + got, sizeof child - got);
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(fds[0]);
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  CHECK(got == sizeof child);
  for (i = 0; i < FORK_DRAWS; i++) {
    for (j = 0; j < FORK_DRAWS; j++) {
      same += memcmp(child + 32 * i, parent + 32 * j, 32) == 0;
      same += memcmp(child + 32 * i, warm + 32 * j, 32) == 0;
    }
  }
  CHECK(same == 0);
  printf("ffi-threads: fork: %d data keys in the child, %d also drawn by the parent\n", FORK_DRAWS,
         same);
}

int main(void) {
  nacoscrypt_secret_key *key = NULL;
  nacoscrypt_token_manager *manager = NULL;
  nacoscrypt_token_cache *cache = NULL;
  nacoscrypt_keyring *keyring = NULL;
  nacoscrypt_kms *kms = NULL;
  nacoscrypt_access_token *tokens[TOKENS];
  worker_args args[THREADS];
  pthread_t threads[THREADS];
  int i;
  long ok = 0, errors = 0;

  CHECK_OK(nacoscrypt_secret_key_generate(&key));
  CHECK_OK(nacoscrypt_token_manager_new(key, NULL, 0, 0, 0, &manager));
  CHECK_OK(nacoscrypt_token_cache_new(manager, &cache));
  CHECK_OK(nacoscrypt_keyring_parse(LOCAL_KEYRING.s, LOCAL_KEYRING.len, &keyring));
  CHECK_OK(nacoscrypt_kms_from_keyring(keyring, &kms));
  for (i = 0; i < TOKENS; i++) {
    char subject[32];
    snprintf(subject, sizeof subject, "subject-%d", i);
    tokens[i] = NULL;
    CHECK_OK(nacoscrypt_token_manager_issue(manager, subject, NOW, &tokens[i]));
  }
  if (g_failed != 0) return test_summary("ffi-threads");

  for (i = 0; i < THREADS; i++) {
    int k;
    memset(&args[i], 0, sizeof args[i]);
    args[i].manager = manager;
    args[i].cache = cache;
    args[i].kms = kms;
    args[i].index = i;
    for (k = 0; k < TOKENS; k++) {
      args[i].tokens[k] = nacoscrypt_access_token_text(tokens[k], &args[i].token_lens[k]);
    }
    CHECK(pthread_create(&threads[i], NULL, worker, &args[i]) == 0);
  }
  for (i = 0; i < THREADS; i++) {
    CHECK(pthread_join(threads[i], NULL) == 0);
    ok += args[i].ok;
    errors += args[i].errors;
  }
  printf("ffi-threads: %d threads x %d iterations: %ld operations ok, %ld errors\n", THREADS,
         ITERATIONS, ok, errors);
  CHECK(errors == 0);
  CHECK(ok == (long)THREADS * (3L * ITERATIONS + (ITERATIONS + 255) / 256));
  CHECK(nacoscrypt_token_cache_verified_count(cache) == TOKENS);
  CHECK(nacoscrypt_token_cache_login_count(cache) == THREADS);
  test_fork_never_repeats_a_data_key(kms);

  for (i = 0; i < TOKENS; i++) nacoscrypt_access_token_free(tokens[i]);
  nacoscrypt_kms_free(kms);
  nacoscrypt_keyring_free(keyring);
  nacoscrypt_token_cache_free(cache);
  nacoscrypt_token_manager_free(manager);
  nacoscrypt_secret_key_free(key);
  return test_summary("ffi-threads");
}
