/* libnacoscrypt with your own HTTP stack: publish and read an encrypted config through the Nacos
 * open API (v1), logged in through the token keeper.
 *
 *   cc open_api.c $(pkg-config --cflags --libs nacoscrypt) -o open_api
 *   NACOS_USERNAME=nacos NACOS_PASSWORD=... ./open_api 127.0.0.1 8848 /etc/nacoscrypt/keyring
 *
 * The three places libnacoscrypt meets the wire:
 *   1. Login: POST /nacos/v1/auth/login (username, password) answers
 *      {"accessToken":..., "tokenTtl":18000, ...}. The token keeper calls your login function
 *      when a token is due, hands that body to nacoscrypt_login_output_set_response_json(), and
 *      gives every request the current token (one login for all threads, refreshed before it
 *      expires). A 403 answer: report it with nacoscrypt_token_keeper_forbidden(), ask again.
 *   2. Publish: nacoscrypt_config_encrypt() gives `content` and `encryptedDataKey`; send both
 *      as form fields of POST /nacos/v1/cs/configs (with dataId, group, tenant, accessToken).
 *   3. Read: GET /nacos/v1/cs/configs?dataId=&group=&tenant=&accessToken= answers the stored
 *      content as the body and the data key in the response header `Encrypted-Data-Key`; give
 *      both to nacoscrypt_config_decrypt().
 *
 * The HTTP here is a deliberately small blocking HTTP/1.1 client over POSIX sockets (one request
 * per connection, Content-Length bodies, a receive timeout): stand-in for yours (libcurl, Boost
 * Beast, ...). It needs _POSIX_C_SOURCE for getaddrinfo.
 */
#define _POSIX_C_SOURCE 200809L
#include <nacoscrypt.h>

#include <ctype.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* ----- a minimal HTTP client (yours goes here) ------------------------------------------- */

typedef struct {
  int status;
  char *body;               /* NUL-terminated, malloc'ed */
  size_t body_len;
  char encrypted_data_key[4096]; /* the Encrypted-Data-Key response header, "" if absent */
} response;

static const char *host, *port;

/* Appends `s` to `out` (capacity `cap`) percent-encoded as application/x-www-form-urlencoded. */
static int url_encode(char *out, size_t cap, size_t *len, const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (*len + 4 >= cap) return -1;
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out[(*len)++] = (char)c;
    } else {
      out[(*len)++] = '%';
      out[(*len)++] = hex[c >> 4];
      out[(*len)++] = hex[c & 15];
    }
  }
  out[*len] = '\0';
  return 0;
}

/* Appends "&name=value" (no "&" first) to a form or query string. */
static int form_add(char *out, size_t cap, size_t *len, const char *name, const char *value) {
  if (*len > 0) {
    if (*len + 1 >= cap) return -1;
    out[(*len)++] = '&';
  }
  if (url_encode(out, cap, len, name) != 0 || *len + 1 >= cap) return -1;
  out[(*len)++] = '=';
  return url_encode(out, cap, len, value);
}

static void response_free(response *r) {
  free(r->body);
  memset(r, 0, sizeof *r);
}

/* One request; 0 on a complete response (any status), -1 on a network or protocol error. */
static int http(const char *method, const char *target, const char *form, response *r) {
  struct addrinfo hints, *ai = NULL;
  char *buf = NULL;
  size_t len = 0, cap = 1 << 16;
  int fd = -1, rc = -1;
  memset(r, 0, sizeof *r);
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host, port, &hints, &ai) != 0) return -1;
  fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
  if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) goto out;
  {
    struct timeval tv = {5, 0}; /* never wait forever for a server */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  {
    size_t form_len = form ? strlen(form) : 0;
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n"
                     "%sContent-Length: %zu\r\n\r\n",
                     method, target, host, port,
                     form ? "Content-Type: application/x-www-form-urlencoded\r\n" : "", form_len);
    if (n < 0 || (size_t)n >= sizeof head) goto out;
    if (write(fd, head, (size_t)n) != n) goto out;
    if (form_len && write(fd, form, form_len) != (ssize_t)form_len) goto out;
  }
  if (!(buf = malloc(cap))) goto out;
  for (;;) {
    ssize_t got;
    if (len + 1 >= cap) goto out; /* larger than any Nacos config: refuse */
    got = read(fd, buf + len, cap - 1 - len);
    if (got < 0) goto out; /* includes the timeout */
    if (got == 0) break;
    len += (size_t)got;
  }
  buf[len] = '\0';
  {
    char *end = strstr(buf, "\r\n\r\n"), *line;
    size_t body_len;
    if (!end || sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1) goto out;
    *end = '\0';
    body_len = len - (size_t)(end + 4 - buf);
    for (line = strstr(buf, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
      const char *name = "Encrypted-Data-Key:";
      if (strncasecmp(line + 2, name, strlen(name)) == 0) {
        const char *v = line + 2 + strlen(name);
        size_t n = 0;
        while (*v == ' ') v++;
        while (v[n] && v[n] != '\r' && n + 1 < sizeof r->encrypted_data_key) n++;
        memcpy(r->encrypted_data_key, v, n);
        r->encrypted_data_key[n] = '\0';
      }
    }
    if (!(r->body = malloc(body_len + 1))) goto out;
    memcpy(r->body, end + 4, body_len);
    r->body[body_len] = '\0';
    r->body_len = body_len;
  }
  rc = 0;
out:
  free(buf);
  if (fd >= 0) close(fd);
  freeaddrinfo(ai);
  return rc;
}

/* ----- 1. login, through the token keeper ------------------------------------------------- */

static int login(void *userdata, nacoscrypt_login_output *out) {
  char form[1024];
  size_t len = 0;
  response r;
  (void)userdata;
  if (form_add(form, sizeof form, &len, "username", getenv("NACOS_USERNAME") ? getenv("NACOS_USERNAME") : "nacos") ||
      form_add(form, sizeof form, &len, "password", getenv("NACOS_PASSWORD") ? getenv("NACOS_PASSWORD") : "")) {
    nacoscrypt_login_output_set_error_message(out, "credentials too long");
    return 1;
  }
  if (http("POST", "/nacos/v1/auth/login", form, &r) != 0) {
    nacoscrypt_login_output_set_error_message(out, "the Nacos server is unreachable");
    return 2;
  }
  if (r.status != 200) {
    nacoscrypt_login_output_set_error_message(out, "the Nacos server refused the login");
    response_free(&r);
    return 3;
  }
  /* The body is {"accessToken":..., "tokenTtl":...}: the keeper reads it and keeps the token. */
  if (nacoscrypt_login_output_set_response_json(out, r.body, r.body_len) != NACOSCRYPT_RESULT_OK) {
    response_free(&r);
    return 4;
  }
  response_free(&r);
  return 0;
}

/* A request with `accessToken` added; a 403 is reported to the keeper and retried once with a
 * fresh token. */
static int authorized(nacoscrypt_token_keeper *keeper, const char *method, const char *path,
                      const char *params, response *r) {
  int attempt;
  for (attempt = 0; attempt < 2; attempt++) {
    char *token = NULL, target[8192], form[65536];
    size_t token_len = 0, len = strlen(params);
    bool stale = false;
    if (nacoscrypt_token_keeper_token_now(keeper, &token, &token_len) != NACOSCRYPT_RESULT_OK) {
      char detail[256];
      nacoscrypt_last_error_message(detail, sizeof detail, NULL);
      fprintf(stderr, "no token: %s\n", detail);
      return -1;
    }
    if (len >= sizeof form) { nacoscrypt_string_free(token); return -1; }
    memcpy(form, params, len + 1);
    if (form_add(form, sizeof form, &len, "accessToken", token) != 0) {
      nacoscrypt_string_free(token);
      return -1;
    }
    if (strcmp(method, "GET") == 0) {
      if ((size_t)snprintf(target, sizeof target, "%s?%s", path, form) >= sizeof target) {
        nacoscrypt_string_free(token);
        return -1;
      }
      if (http("GET", target, NULL, r) != 0) { nacoscrypt_string_free(token); return -1; }
    } else if (http(method, path, form, r) != 0) {
      nacoscrypt_string_free(token);
      return -1;
    }
    if (r->status != 403) { nacoscrypt_string_free(token); return 0; }
    /* The server no longer accepts this token (secret rotated, user revoked, ...). */
    {
      struct timeval now;
      gettimeofday(&now, NULL);
      nacoscrypt_token_keeper_forbidden(keeper, token, token_len,
                                        (int64_t)now.tv_sec * 1000 + now.tv_usec / 1000, &stale);
    }
    nacoscrypt_string_free(token);
    response_free(r);
    fprintf(stderr, "403: logging in again\n");
  }
  return -1;
}

#define CHECK(call)                                                        \
  do {                                                                     \
    nacoscrypt_result rc_ = (call);                                        \
    if (rc_ != NACOSCRYPT_RESULT_OK) {                                     \
      char detail_[256];                                                   \
      nacoscrypt_last_error_message(detail_, sizeof detail_, NULL);        \
      fprintf(stderr, "%s failed: %u %s\n", #call, (unsigned)rc_, detail_); \
      goto done;                                                           \
    }                                                                      \
  } while (0)

int main(int argc, char **argv) {
  nacoscrypt_keyring *keyring = NULL;
  nacoscrypt_kms *kms = NULL;
  nacoscrypt_token_keeper *keeper = NULL;
  nacoscrypt_token_keeper_options options;
  nacoscrypt_config_id id = {"cipher-kms-aes-256-db.properties", "DEFAULT_GROUP", ""};
  const char *plaintext = "spring.datasource.password=s3cret&x<y>";
  char *content = NULL, *edk = NULL, *decrypted = NULL;
  size_t decrypted_len = 0;
  response r = {0, NULL, 0, ""};
  int status = 1;

  if (argc != 4) {
    fprintf(stderr, "usage: %s HOST PORT KEYRING\n", argv[0]);
    return 2;
  }
  host = argv[1];
  port = argv[2];
  CHECK(nacoscrypt_keyring_load(argv[3], &keyring));
  CHECK(nacoscrypt_kms_from_keyring(keyring, &kms));
  memset(&options, 0, sizeof options);
  options.login = login;
  options.jitter_window_secs = -1; /* the default spread */
  CHECK(nacoscrypt_token_keeper_new(&options, &keeper));

  /* 2. Publish: content and encryptedDataKey travel together. */
  CHECK(nacoscrypt_config_encrypt(kms, &id, plaintext, strlen(plaintext), "alias/nacos",
                                  NACOSCRYPT_FORMAT_NACOS, &content, NULL, &edk, NULL));
  {
    char form[65536];
    size_t len = 0;
    if (form_add(form, sizeof form, &len, "dataId", id.data_id) ||
        form_add(form, sizeof form, &len, "group", id.group) ||
        form_add(form, sizeof form, &len, "tenant", id.tenant) ||
        form_add(form, sizeof form, &len, "content", content) ||
        form_add(form, sizeof form, &len, "encryptedDataKey", edk)) {
      fprintf(stderr, "config too large for this example's buffer\n");
      goto done;
    }
    if (authorized(keeper, "POST", "/nacos/v1/cs/configs", form, &r) != 0 || r.status != 200 ||
        strcmp(r.body, "true") != 0) {
      fprintf(stderr, "publish failed (HTTP %d)\n", r.status);
      goto done;
    }
    response_free(&r);
    printf("published %s with its encryptedDataKey\n", id.data_id);
  }

  /* 3. Read: the body is the content, the header Encrypted-Data-Key the data key. */
  {
    char query[1024];
    size_t len = 0;
    if (form_add(query, sizeof query, &len, "dataId", id.data_id) ||
        form_add(query, sizeof query, &len, "group", id.group) ||
        form_add(query, sizeof query, &len, "tenant", id.tenant))
      goto done;
    if (authorized(keeper, "GET", "/nacos/v1/cs/configs", query, &r) != 0 || r.status != 200) {
      fprintf(stderr, "read failed (HTTP %d)\n", r.status);
      goto done;
    }
    CHECK(nacoscrypt_config_decrypt(kms, &id, r.body, r.body_len, r.encrypted_data_key,
                                    &decrypted, &decrypted_len));
    if (decrypted_len != strlen(plaintext) || memcmp(decrypted, plaintext, decrypted_len) != 0) {
      fprintf(stderr, "decrypted something else\n");
      goto done;
    }
    printf("read back %zu bytes; logins: %llu\n", decrypted_len,
           (unsigned long long)nacoscrypt_token_keeper_login_count(keeper));
  }
  status = 0;

done:
  response_free(&r);
  nacoscrypt_string_free(decrypted); /* wiped, then freed */
  nacoscrypt_string_free(content);
  nacoscrypt_string_free(edk);
  nacoscrypt_token_keeper_free(keeper);
  nacoscrypt_kms_free(kms);
  nacoscrypt_keyring_free(keyring);
  return status;
}
