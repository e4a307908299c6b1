// appkeys — LocalServer's TLS set-up: loads a PEM certificate chain and its private key
// into an OpenSSL server context, with an error that names the file at fault.
//
// Needs cpp-httplib built with CPPHTTPLIB_OPENSSL_SUPPORT (Debian's is), which brings
// the OpenSSL headers in.
#pragma once

#include <httplib.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#endif

namespace appkeys::testing::local_server_detail {

/// "" when `path` can be opened for reading, else why not ("No such file or directory").
inline std::string unreadable_reason(const std::string& path) {
  errno = 0;
  std::ifstream file(path, std::ios::binary);
  if (file.good()) return {};
  return errno != 0 ? std::strerror(errno) : "cannot be opened";
}

#ifdef CPPHTTPLIB_OPENSSL_SUPPORT

/// OpenSSL's queued errors as one line (they name what failed, never key material);
/// the queue is emptied so the next operation starts clean.
inline std::string take_openssl_errors() {
  std::string out;
  while (const unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    if (!out.empty()) out += "; ";
    out += text;
  }
  return out;
}

/// Refuses to prompt on the terminal for a key's passphrase: an encrypted key fails.
inline int no_passphrase(char*, int, int, void*) { return 0; }

/// Configures `ctx` as a TLS 1.2+ server with the certificate chain in `cert_file` and
/// the unencrypted private key in `key_file`; false with `error` set (naming the file at
/// fault) when either cannot be read, parsed or paired.
inline bool configure_tls_context(SSL_CTX& ctx, const std::string& cert_file,
                                  const std::string& key_file, std::string& error) {
  ERR_clear_error();
  SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(&ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION);
  SSL_CTX_set_default_passwd_cb(&ctx, no_passphrase);
  if (SSL_CTX_use_certificate_chain_file(&ctx, cert_file.c_str()) != 1) {
    error = "the TLS certificate file " + cert_file + " holds no usable PEM certificate (" +
            take_openssl_errors() + ')';
    return false;
  }
  BIO* bio = BIO_new_file(key_file.c_str(), "r");
  EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio, nullptr, no_passphrase, nullptr) : nullptr;
  if (bio) BIO_free(bio);
  if (key == nullptr) {
    error = "the TLS key file " + key_file + " holds no usable unencrypted PEM private key (" +
            take_openssl_errors() + ')';
    return false;
  }
  const bool paired =
      SSL_CTX_use_PrivateKey(&ctx, key) == 1 && SSL_CTX_check_private_key(&ctx) == 1;
  EVP_PKEY_free(key);
  if (!paired) {
    take_openssl_errors();
    error = "the private key in " + key_file + " does not match the certificate in " + cert_file;
    return false;
  }
  return true;
}

#endif  // CPPHTTPLIB_OPENSSL_SUPPORT

}  // namespace appkeys::testing::local_server_detail
