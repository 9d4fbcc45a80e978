/* Soak test of a keyring file under rotation (issue 11), through the C ABI.
 *
 * Usage: soak_keyring SECONDS DIR
 *
 * A child process rotates the keyring DIR/keyring every 50 ms ($NACOSCRYPT_SOAK_ROTATE_MS) and,
 * after each rotation,
 * publishes a config encrypted with the new version (a freshly loaded keyring) in DIR/latest
 * (written to a temporary file, then renamed). Meanwhile 8 threads share one long-running
 * keyring handle and mix, for SECONDS: config encrypt + decrypt (both formats, every scheme),
 * token verify, and decrypting the child's latest config (a version the handle has not read
 * yet: it must read the file again by itself). The main thread samples the resident set once a
 * second. Fails on any error, or if the resident set of the last quarter exceeds that of the
 * first quarter by more than 4 MiB (a leak). Prints one summary line. */
#define _XOPEN_SOURCE 700

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nacoscrypt.h"

#define THREADS 8
#define NOW INT64_C(1700000000)
#define KEY "alias/soak"
#define SOAK_DATA_ID "cipher-kms-aes-256-soak.properties"

static volatile int g_stop = 0;
/* Rotation pace: $NACOSCRYPT_SOAK_ROTATE_MS (default 50 ms); a slower pace keeps the keyring small,
 * so that the resident set measures the library rather than the keyring's growth. */
static long g_rotate_ms = 50;
static char g_dir[512];

typedef struct {
  const nacoscrypt_kms *kms;
  const nacoscrypt_token_manager *manager;
  const char *token;
  size_t token_len;
  int index;
  long ops;
  long errors;
  long followed; /* decrypts of the rotating process's newest config */
} worker_args;

static void fail(worker_args *w, const char *what, nacoscrypt_result rc) {
  char msg[512];
  size_t n = 0;
  w->errors++;
  (void)nacoscrypt_last_error_message(msg, sizeof msg, &n);
  if (w->errors <= 5) fprintf(stderr, "thread %d: %s returned %u: %s\n", w->index, what, rc, msg);
}

/* Reads DIR/latest: "content\nedk\n". Returns 0 if there is none yet. */
static int read_latest(char *content, size_t content_cap, char *edk, size_t edk_cap) {
  char path[600];
  FILE *f;
  snprintf(path, sizeof path, "%s/latest", g_dir);
  f = fopen(path, "r");
  if (f == NULL) return 0;
  if (fgets(content, (int)content_cap, f) == NULL || fgets(edk, (int)edk_cap, f) == NULL) {
    fclose(f);
    return 0;
  }
  fclose(f);
  content[strcspn(content, "\n")] = 0;
  edk[strcspn(edk, "\n")] = 0;
  return 1;
}

static void *worker(void *arg) {
  static const char *data_ids[3] = {"cipher-kms-aes-256-db.properties",
                                    "cipher-kms-aes-128-app.yaml", "cipher-token.json"};
  worker_args *w = (worker_args *)arg;
  long j;
  for (j = 0; !g_stop; j++) {
    nacoscrypt_result rc;
    char plain[128];
    char *content = NULL, *edk = NULL, *out = NULL;
    size_t n = 0, out_n = 0, plain_n;
    int64_t exp = 0;
    nacoscrypt_config_id id;
    nacoscrypt_format format = (j & 1) ? NACOSCRYPT_FORMAT_V1 : NACOSCRYPT_FORMAT_NACOS;

    rc = nacoscrypt_token_manager_verify(w->manager, w->token, w->token_len, NOW, NULL, NULL, &exp);
    if (rc != NACOSCRYPT_RESULT_OK) fail(w, "token_manager_verify", rc); else w->ops++;

    id.data_id = data_ids[j % 3];
    id.group = "DEFAULT_GROUP";
    id.tenant = "soak";
    plain_n = (size_t)snprintf(plain, sizeof plain, "password=thread-%d-%ld", w->index, j);
    rc = nacoscrypt_config_encrypt(w->kms, &id, plain, plain_n, KEY, format, &content, &n, &edk,
                                   NULL);
    if (rc != NACOSCRYPT_RESULT_OK) {
      fail(w, "config_encrypt", rc);
      continue;
    }
    rc = nacoscrypt_config_decrypt(w->kms, &id, content, n, edk, &out, &out_n);
    if (rc != NACOSCRYPT_RESULT_OK || out_n != plain_n || memcmp(out, plain, plain_n) != 0) {
      fail(w, "config_decrypt", rc);
    } else {
      w->ops += 2;
    }
    nacoscrypt_string_free(out);
    nacoscrypt_string_free(content);
    nacoscrypt_string_free(edk);

    if (j % 64 == 0) {
      char latest[4096], latest_edk[1100];
      if (read_latest(latest, sizeof latest, latest_edk, sizeof latest_edk)) {
        id.data_id = SOAK_DATA_ID;
        id.tenant = "soak";
        rc = nacoscrypt_config_decrypt(w->kms, &id, latest, strlen(latest), latest_edk, &out,
                                       &out_n);
        if (rc != NACOSCRYPT_RESULT_OK || out_n < 8 || memcmp(out, "rotation", 8) != 0) {
          fail(w, "config_decrypt of the rotating process's config", rc);
        } else {
          w->ops++;
          w->followed++;
        }
        nacoscrypt_string_free(out);
      }
    }
  }
  return NULL;
}

/* The other process: rotate, then publish a config made with the new version. */
static void rotator(void) {
  char path[600], tmp[600], latest[600];
  long i;
  snprintf(path, sizeof path, "%s/keyring", g_dir);
  snprintf(tmp, sizeof tmp, "%s/latest.tmp", g_dir);
  snprintf(latest, sizeof latest, "%s/latest", g_dir);
  for (i = 0;; i++) {
    nacoscrypt_keyring *fresh = NULL;
    nacoscrypt_kms *kms = NULL;
    char *content = NULL, *edk = NULL, plain[64];
    size_t n = 0, plain_n;
    nacoscrypt_config_id id = {SOAK_DATA_ID, "DEFAULT_GROUP", "soak"};
    FILE *f;
    struct timespec pause = {0, 0};
    pause.tv_sec = g_rotate_ms / 1000;
    pause.tv_nsec = (long)(g_rotate_ms % 1000) * 1000 * 1000;
    {
      char *v = NULL;
      if (nacoscrypt_keyring_rotate_file(path, KEY, false, &v, NULL) != 0) _exit(3);
      nacoscrypt_string_free(v);
    }
    if (nacoscrypt_keyring_load(path, &fresh) != 0 || nacoscrypt_kms_from_keyring(fresh, &kms) != 0)
      _exit(4);
    plain_n = (size_t)snprintf(plain, sizeof plain, "rotation-%ld", i);
    if (nacoscrypt_config_encrypt(kms, &id, plain, plain_n, KEY, NACOSCRYPT_FORMAT_V1, &content, &n,
                                  &edk, NULL) != 0)
      _exit(5);
    f = fopen(tmp, "w");
    if (f == NULL) _exit(6);
    fprintf(f, "%s\n%s\n", content, edk);
    fclose(f);
    if (rename(tmp, latest) != 0) _exit(7);
    nacoscrypt_string_free(content);
    nacoscrypt_string_free(edk);
    nacoscrypt_kms_free(kms);
    nacoscrypt_keyring_free(fresh);
    nanosleep(&pause, NULL);
  }
}

static long rss_kib(void) {
  long pages = 0, resident = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f == NULL) return -1;
  if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = -1;
  fclose(f);
  return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

int main(int argc, char **argv) {
  nacoscrypt_secret_key *key = NULL;
  nacoscrypt_token_manager *manager = NULL;
  nacoscrypt_keyring *keyring = NULL;
  nacoscrypt_kms *kms = NULL;
  nacoscrypt_access_token *token = NULL;
  worker_args args[THREADS];
  pthread_t threads[THREADS];
  long samples[3600];
  int seconds, i, n_samples = 0, status = 0;
  long ops = 0, errors = 0, followed = 0, first = 0, last = 0, quarter;
  char path[600];
  pid_t child;
  int versions_before_exit;

  if (argc != 3) {
    fprintf(stderr, "usage: %s SECONDS DIR\n", argv[0]);
    return 2;
  }
  seconds = atoi(argv[1]);
  if (getenv("NACOSCRYPT_SOAK_ROTATE_MS") != NULL) g_rotate_ms = atol(getenv("NACOSCRYPT_SOAK_ROTATE_MS"));
  if (g_rotate_ms < 1 || g_rotate_ms > 60000) g_rotate_ms = 50;
  if (seconds < 4 || seconds > 3600) seconds = 4;
  snprintf(g_dir, sizeof g_dir, "%s", argv[2]);
  /* A fresh start: no keyring and no config published by an earlier run. */
  snprintf(path, sizeof path, "%s/latest", g_dir);
  unlink(path);
  snprintf(path, sizeof path, "%s/keyring", g_dir);
  unlink(path);
  if (nacoscrypt_keyring_create_file(path, KEY, &keyring) != 0 ||
      nacoscrypt_kms_from_keyring(keyring, &kms) != 0 ||
      nacoscrypt_secret_key_generate(&key) != 0 ||
      nacoscrypt_token_manager_new(key, NULL, 0, 0, 0, &manager) != 0 ||
      nacoscrypt_token_manager_issue(manager, "soak", NOW, &token) != 0) {
    fprintf(stderr, "set-up failed\n");
    return 1;
  }
  child = fork();
  if (child == 0) rotator();

  for (i = 0; i < THREADS; i++) {
    memset(&args[i], 0, sizeof args[i]);
    args[i].kms = kms;
    args[i].manager = manager;
    args[i].token = nacoscrypt_access_token_text(token, &args[i].token_len);
    args[i].index = i;
    pthread_create(&threads[i], NULL, worker, &args[i]);
  }
  for (i = 0; i < seconds; i++) {
    sleep(1);
    samples[n_samples++] = rss_kib();
    if (waitpid(child, &status, WNOHANG) == child) {
      fprintf(stderr, "the rotating process exited early (status %d)\n", status);
      errors++;
      break;
    }
  }
  g_stop = 1;
  for (i = 0; i < THREADS; i++) {
    pthread_join(threads[i], NULL);
    ops += args[i].ops;
    errors += args[i].errors;
    followed += args[i].followed;
  }
  kill(child, SIGKILL);
  waitpid(child, &status, 0);
  {
    /* Killed at any point, the rotating process left a keyring that loads. */
    nacoscrypt_keyring *after = NULL;
    size_t count = 0;
    versions_before_exit = nacoscrypt_keyring_load(path, &after) == 0;
    if (versions_before_exit) nacoscrypt_keyring_key_count(after, &count);
    if (!versions_before_exit || count != 1) {
      fprintf(stderr, "the keyring no longer loads after the soak\n");
      errors++;
    }
    nacoscrypt_keyring_free(after);
  }
  quarter = n_samples / 4 > 0 ? n_samples / 4 : 1;
  for (i = 0; i < quarter; i++) first += samples[i];
  for (i = n_samples - quarter; i < n_samples; i++) last += samples[i];
  first /= quarter;
  last /= quarter;
  printf("soak (C ABI): %d threads, %d s: %ld operations (%ld/s), %ld decrypts of the rotating "
         "process's newest config, %ld errors; resident set %ld KiB in the first quarter, "
         "%ld KiB in the last\n",
         THREADS, n_samples, ops, ops / (n_samples > 0 ? n_samples : 1), followed, errors, first,
         last);
  nacoscrypt_access_token_free(token);
  nacoscrypt_token_manager_free(manager);
  nacoscrypt_secret_key_free(key);
  nacoscrypt_kms_free(kms);
  nacoscrypt_keyring_free(keyring);
  if (errors != 0 || followed == 0) return 1;
  if (last - first > 4096) {
    fprintf(stderr, "resident set grew by %ld KiB: a leak\n", last - first);
    return 1;
  }
  return 0;
}
