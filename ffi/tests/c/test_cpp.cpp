// The C++17 test: the header used from C++ (RAII owners around the handles), a sign/verify and
// an encrypt/decrypt round trip, and the enum's type safety.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>

#include "nacoscrypt.h"

namespace {

int passed = 0;
int failed = 0;

void check(bool ok, const char *what, int line) {
  if (ok) {
    ++passed;
  } else {
    ++failed;
    char msg[512];
    size_t n = 0;
    nacoscrypt_last_error_message(msg, sizeof msg, &n);
    std::fprintf(stderr, "test_cpp.cpp:%d: CHECK failed: %s (last error: %s)\n", line, what, msg);
  }
}

#define CHECK(cond) check((cond), #cond, __LINE__)

// Owners: the library's free functions as deleters.
template <typename T, void (*Free)(T *)>
struct Deleter {
  void operator()(T *p) const { Free(p); }
};
template <typename T, void (*Free)(T *)>
using Owned = std::unique_ptr<T, Deleter<T, Free>>;

using SecretKey = Owned<nacoscrypt_secret_key, nacoscrypt_secret_key_free>;
using Manager = Owned<nacoscrypt_token_manager, nacoscrypt_token_manager_free>;
using Token = Owned<nacoscrypt_access_token, nacoscrypt_access_token_free>;
using Keyring = Owned<nacoscrypt_keyring, nacoscrypt_keyring_free>;
using Kms = Owned<nacoscrypt_kms, nacoscrypt_kms_free>;
using String = Owned<char, nacoscrypt_string_free>;

static_assert(std::is_same<std::underlying_type<nacoscrypt_result>::type, uint32_t>::value,
              "nacoscrypt_result is a uint32_t enum in C++");
static_assert(NACOSCRYPT_RESULT_OK == 0, "success is 0");

const char kKeyring[] =
    "key alias/nacos 52f22665-a60c-42d2-a918-5d950ee88136 "
    "CRZvaxE9F41sD9OQH/I5oaCV8g+TlWUM+TgLjtsiSms=\n";

}  // namespace

int main() {
  CHECK(std::string(nacoscrypt_version()).size() >= 5);

  // Sign / verify.
  nacoscrypt_secret_key *raw_key = nullptr;
  CHECK(nacoscrypt_secret_key_generate(&raw_key) == NACOSCRYPT_RESULT_OK);
  SecretKey key(raw_key);
  nacoscrypt_token_manager *raw_manager = nullptr;
  CHECK(nacoscrypt_token_manager_new(key.get(), nullptr, 0, 3600, 0, &raw_manager) ==
        NACOSCRYPT_RESULT_OK);
  Manager manager(raw_manager);
  nacoscrypt_access_token *raw_token = nullptr;
  CHECK(nacoscrypt_token_manager_issue(manager.get(), "nacos", 1700000000, &raw_token) ==
        NACOSCRYPT_RESULT_OK);
  Token token(raw_token);
  size_t token_len = 0;
  const std::string text(nacoscrypt_access_token_text(token.get(), &token_len));
  CHECK(text.size() == token_len);
  char *raw_subject = nullptr;
  size_t subject_len = 0;
  int64_t exp = 0;
  CHECK(nacoscrypt_token_manager_verify(manager.get(), text.data(), text.size(), 1700003600,
                                        &raw_subject, &subject_len, &exp) ==
        NACOSCRYPT_RESULT_OK);
  String subject(raw_subject);
  CHECK(std::string(subject.get(), subject_len) == "nacos");
  CHECK(exp == 1700003600);
  const nacoscrypt_result expired = nacoscrypt_token_manager_verify(
      manager.get(), text.data(), text.size(), 1700003601, nullptr, nullptr, nullptr);
  CHECK(expired == NACOSCRYPT_RESULT_TOKEN_EXPIRED);
  CHECK(std::string(nacoscrypt_result_nacos_message(expired)) == "token expired!");

  // Encrypt / decrypt, both formats.
  nacoscrypt_keyring *raw_keyring = nullptr;
  CHECK(nacoscrypt_keyring_parse(kKeyring, sizeof kKeyring - 1, &raw_keyring) ==
        NACOSCRYPT_RESULT_OK);
  Keyring keyring(raw_keyring);
  nacoscrypt_kms *raw_kms = nullptr;
  CHECK(nacoscrypt_kms_from_keyring(keyring.get(), &raw_kms) == NACOSCRYPT_RESULT_OK);
  Kms kms(raw_kms);
  const nacoscrypt_config_id id{"cipher-kms-aes-256-db.properties", "DEFAULT_GROUP", ""};
  const std::string plaintext = "password=s3cret";
  for (nacoscrypt_format format : {NACOSCRYPT_FORMAT_NACOS, NACOSCRYPT_FORMAT_V1}) {
    char *raw_content = nullptr;
    char *raw_edk = nullptr;
    size_t content_len = 0;
    CHECK(nacoscrypt_config_encrypt(kms.get(), &id, plaintext.data(), plaintext.size(),
                                    "alias/nacos", format, &raw_content, &content_len, &raw_edk,
                                    nullptr) == NACOSCRYPT_RESULT_OK);
    String content(raw_content);
    String edk(raw_edk);
    char *raw_plain = nullptr;
    size_t plain_len = 0;
    CHECK(nacoscrypt_config_decrypt(kms.get(), &id, content.get(), content_len, edk.get(),
                                    &raw_plain, &plain_len) == NACOSCRYPT_RESULT_OK);
    String plain(raw_plain);
    CHECK(plain && std::string(plain.get(), plain_len) == plaintext);
  }

  std::printf("ffi-cpp: %d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
