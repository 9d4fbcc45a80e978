/* A tiny test harness for the C suites: counts checks, prints failures, ends with the line
 * "N passed, N failed". */
#ifndef NACOSCRYPT_TEST_UTIL_H
#define NACOSCRYPT_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nacoscrypt.h"

static int g_passed = 0;
static int g_failed = 0;
static char g_last_message[2048];

/* The detail of the last failure on this thread. */
static const char *last_message(void) {
  size_t n = 0;
  g_last_message[0] = '\0';
  (void)nacoscrypt_last_error_message(g_last_message, sizeof g_last_message, &n);
  return g_last_message;
}

#define CHECK(cond)                                                                 \
  do {                                                                              \
    if (cond) {                                                                     \
      g_passed++;                                                                   \
    } else {                                                                        \
      g_failed++;                                                                   \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);     \
    }                                                                               \
  } while (0)

#define CHECK_RC(call, want)                                                          \
  do {                                                                                \
    nacoscrypt_result rc_ = (call);                                                   \
    if (rc_ == (nacoscrypt_result)(want)) {                                           \
      g_passed++;                                                                     \
    } else {                                                                          \
      g_failed++;                                                                     \
      fprintf(stderr, "%s:%d: %s\n  returned %u (%s: %s), expected %u (%s)\n",        \
              __FILE__, __LINE__, #call, (unsigned)rc_, nacoscrypt_result_message(rc_), \
              last_message(), (unsigned)(want), nacoscrypt_result_message(want));     \
    }                                                                                 \
  } while (0)

#define CHECK_OK(call) CHECK_RC(call, NACOSCRYPT_RESULT_OK)

/* `s` (NUL-terminated, `n` bytes) equals the `len` bytes at `want`. */
#define CHECK_STR(s, n, want, len)                                                       \
  do {                                                                                   \
    const char *s_ = (s);                                                                \
    size_t n_ = (n), len_ = (len);                                                       \
    if (s_ != NULL && n_ == len_ && memcmp(s_, (want), len_) == 0 && s_[n_] == '\0') {   \
      g_passed++;                                                                        \
    } else {                                                                             \
      g_failed++;                                                                        \
      fprintf(stderr, "%s:%d: CHECK_STR failed: %s (%lu bytes: \"%s\") != \"%.*s\"\n",  \
              __FILE__, __LINE__, #s, (unsigned long)n_, s_ ? s_ : "(null)", (int)len_,  \
              (const char *)(want));                                                     \
    }                                                                                    \
  } while (0)

#define CHECK_CSTR(s, want) CHECK_STR((s), (s) ? strlen(s) : 0, (want), strlen(want))

/* The whole file at `path`, NUL-terminated (malloc'd: free it), or NULL. */
static inline char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  long n;
  char *buf;
  if (f == NULL) return NULL;
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  buf = (char *)malloc((size_t)n + 1);
  if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  if (buf != NULL) buf[n] = 0;
  fclose(f);
  return buf;
}

static int test_summary(const char *suite) {
  printf("%s: %d passed, %d failed\n", suite, g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}

#endif
