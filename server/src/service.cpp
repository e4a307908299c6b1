// appkeys server — open_service: BasicBackend over the store a URI names.
#include <appkeys/server/service.hpp>

#include <appkeys/server/postgres_store.hpp>
#include <appkeys/server/sqlite_store.hpp>
#include <appkeys/testing/backend/basic_backend.hpp>
#include <appkeys/testing/backend/memory_store.hpp>

#include <utility>

namespace appkeys::server {

namespace {

template <class Store>
class ServiceOver final : public Service {
 public:
  template <class... StoreArgs>
  ServiceOver(StoreUri uri, const ServiceOptions& options, StoreArgs&&... store_args)
      : uri_(std::move(uri)),
        backend_(options.rules, OpenSslCrypto(options.scrypt),
                 std::forward<StoreArgs>(store_args)...) {}

  HttpResponse handle(const HttpRequest& request) override { return backend_.handle(request); }
  const testing::FakeBackendOptions& options() const noexcept override {
    return backend_.options();
  }
  std::size_t request_count() const override { return backend_.request_count(); }
  std::string add_email_user(std::string_view email, std::string_view password) override {
    return backend_.add_email_user(email, password);
  }
  void set_user_disabled(std::string_view user_id, bool disabled) override {
    backend_.set_user_disabled(user_id, disabled);
  }
  bool delete_user(std::string_view user_id) override { return backend_.delete_user(user_id); }
  std::vector<testing::backend::UserRecord> list_users() const override {
    return backend_.list_users();
  }
  std::size_t key_count(std::string_view user_id) const override {
    return backend_.key_count(user_id);
  }
  std::string debug_dump() const override { return backend_.debug_dump(); }
  const StoreUri& store_uri() const noexcept override { return uri_; }

 private:
  StoreUri uri_;
  testing::backend::BasicBackend<Store, OpenSslCrypto> backend_;
};

}  // namespace

std::unique_ptr<Service> open_service(const StoreUri& uri, ServiceOptions options) {
  if (uri.kind == StoreUri::Kind::memory) {
    return std::make_unique<ServiceOver<testing::backend::MemoryStore>>(uri, options);
  }
  if (uri.kind == StoreUri::Kind::postgresql) {
    PostgresOptions postgres = options.postgres;
    postgres.conninfo = uri.conninfo;
    if (uri.pool_size != 0) postgres.pool_size = uri.pool_size;
    return std::make_unique<ServiceOver<PostgresStore>>(uri, options, std::move(postgres));
  }
  return std::make_unique<ServiceOver<SqliteStore>>(uri, options, uri.path, options.sqlite);
}

}  // namespace appkeys::server
