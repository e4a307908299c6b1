// appkeys — LocalServer's TLS set-up: its server, plain or with a PEM certificate chain
// and private key loaded into an OpenSSL context, with an error that names the file at fault.
//
// Needs cpp-httplib built with CPPHTTPLIB_OPENSSL_SUPPORT (Debian's is), which brings
// the OpenSSL headers in.
#pragma once

#include <appkeys/config.hpp>
#include <appkeys/error.hpp>

#include <httplib.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>

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

/// LocalServer's server: a plain one when neither file is given, else a TLS one whose
/// certificate and key were checked first. Throws AppError as LocalServer's constructor
/// says (errc::invalid_argument, errc::tls).
inline std::unique_ptr<httplib::Server> make_server(const std::string& cert,
                                                    const std::string& key) {
  if (cert.empty() && key.empty()) return std::make_unique<httplib::Server>();
  if (cert.empty() || key.empty()) {
    APPKEYS_THROW(AppError(errc::invalid_argument,
                           "LocalServer: a TLS certificate and its key go together: give both "
                           "or neither"));
  }
  for (const auto& [path, what] : {std::pair{&cert, "certificate"}, std::pair{&key, "key"}}) {
    if (auto reason = unreadable_reason(*path); !reason.empty()) {
      APPKEYS_THROW(AppError(errc::tls, std::string("LocalServer: cannot read the TLS ") + what +
                                            " file " + *path + ": " + reason));
    }
  }
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
  std::string error;
  auto server = std::make_unique<httplib::SSLServer>(
      [&](SSL_CTX& ctx) { return configure_tls_context(ctx, cert, key, error); });
  if (!server->is_valid()) {
    APPKEYS_THROW(AppError(
        errc::tls, "LocalServer: " + (error.empty() ? std::string("TLS set-up failed") : error)));
  }
  return server;
#else
  APPKEYS_THROW(AppError(errc::tls,
                         "LocalServer: HTTPS needs cpp-httplib built with OpenSSL support "
                         "(CPPHTTPLIB_OPENSSL_SUPPORT)"));
#endif
}

}  // namespace appkeys::testing::local_server_detail
