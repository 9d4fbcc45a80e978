/* libnacoscrypt from C: decrypt a Nacos config with a local keyring, and issue and verify an
 * access token. Build after `make install`:
 *
 *   cc example.c $(pkg-config --cflags --libs nacoscrypt) -o example && ./example
 */
#include <nacoscrypt.h>
#include <stdio.h>
#include <string.h>

/* Prints the failure of `call` and jumps to the clean-up. */
#define TRY(call)                                                          \
  do {                                                                     \
    nacoscrypt_result rc_ = (call);                                        \
    if (rc_ != NACOSCRYPT_RESULT_OK) {                                     \
      char detail_[256];                                                   \
      nacoscrypt_last_error_message(detail_, sizeof detail_, NULL);        \
      fprintf(stderr, "%s failed: %u %s\n", #call, (unsigned)rc_, detail_); \
      goto done;                                                           \
    }                                                                      \
  } while (0)

int main(void) {
  /* In production: nacoscrypt_keyring_load("/etc/nacoscrypt/keyring", &keyring) (mode 0600),
   * or your own KMS through nacoscrypt_kms_from_callbacks(). */
  static const char keyring_text[] =
      "key alias/nacos 52f22665-a60c-42d2-a918-5d950ee88136 "
      "CRZvaxE9F41sD9OQH/I5oaCV8g+TlWUM+TgLjtsiSms=\n";
  nacoscrypt_config_id id = {"cipher-kms-aes-256-db.properties", "DEFAULT_GROUP", ""};
  const char *plaintext = "password=s3cret";
  nacoscrypt_keyring *keyring = NULL;
  nacoscrypt_kms *kms = NULL;
  char *content = NULL, *encrypted_data_key = NULL, *decrypted = NULL;
  size_t decrypted_len = 0;
  nacoscrypt_secret_key *key = NULL;
  nacoscrypt_token_manager *manager = NULL;
  nacoscrypt_access_token *token = NULL;
  char *subject = NULL;
  int status = 1;

  printf("libnacoscrypt %s\n", nacoscrypt_version());

  /* Configuration: encrypt as the Nacos clients do, decrypt it back. */
  TRY(nacoscrypt_keyring_parse(keyring_text, strlen(keyring_text), &keyring));
  TRY(nacoscrypt_kms_from_keyring(keyring, &kms));
  TRY(nacoscrypt_config_encrypt(kms, &id, plaintext, strlen(plaintext), "alias/nacos",
                                NACOSCRYPT_FORMAT_NACOS, &content, NULL, &encrypted_data_key,
                                NULL));
  printf("content: %s\n", content);
  TRY(nacoscrypt_config_decrypt(kms, &id, content, strlen(content), encrypted_data_key,
                                &decrypted, &decrypted_len));
  printf("decrypted %zu bytes: %s\n", decrypted_len, decrypted);

  /* Tokens: a fresh key, a token for "nacos", verified. */
  TRY(nacoscrypt_secret_key_generate(&key));
  TRY(nacoscrypt_token_manager_new(key, NULL, 0, 0 /* 18,000 s */, 0, &manager));
  TRY(nacoscrypt_token_manager_issue_now(manager, "nacos", &token));
  {
    size_t len = 0;
    const char *text = nacoscrypt_access_token_text(token, &len); /* borrowed from `token` */
    TRY(nacoscrypt_token_manager_verify_now(manager, text, len, &subject, NULL, NULL));
    printf("token for %s, valid %llu s\n", subject,
           (unsigned long long)nacoscrypt_access_token_ttl(token));
    /* A wrong token: the result code and the Nacos server's own answer. */
    if (nacoscrypt_token_manager_verify_now(manager, "a.b.c", 5, NULL, NULL, NULL) ==
        NACOSCRYPT_RESULT_UNSUPPORTED_ALGORITHM) {
      printf("refused: %s\n", nacoscrypt_last_error_nacos_message());
    }
  }
  status = 0;

done:
  /* Library strings are wiped and freed by the library; every _free accepts NULL. */
  nacoscrypt_string_free(subject);
  nacoscrypt_access_token_free(token);
  nacoscrypt_token_manager_free(manager);
  nacoscrypt_secret_key_free(key);
  nacoscrypt_string_free(decrypted);
  nacoscrypt_string_free(encrypted_data_key);
  nacoscrypt_string_free(content);
  nacoscrypt_kms_free(kms);
  nacoscrypt_keyring_free(keyring);
  return status;
}
