// The floor of benchmarks/compile_time: the App Services API-key client a user would write
// by hand with libcurl and nlohmann/json, doing what appkeys_client.cpp does (log in with
// email and password, then create, fetch, fetch all, disable, enable and delete a key)
// with the checks such a client needs (status codes, the error body, required fields).
// benchmarks/compile_time compiles it on every run; built and run against a server:
//   hand_written_client http://127.0.0.1:PORT EMAIL PASSWORD
#include <curl/curl.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct ApiKey {
  std::string id;
  std::string name;
  bool disabled = false;
  std::string key;  // only from create
};

struct Response {
  long status = 0;
  std::string body;
};

size_t append_body(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

class Client {
 public:
  explicit Client(std::string base)
      : base_(std::move(base) + "/api/client/v2.0"), curl_(curl_easy_init()) {
    if (curl_ == nullptr) throw std::runtime_error("curl_easy_init failed");
  }
  ~Client() { curl_easy_cleanup(curl_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void log_in(const std::string& app_id, const std::string& email, const std::string& password) {
    const nlohmann::json body = {
        {"username", email},
        {"password", password},
        {"options", {{"device", {{"sdkVersion", "hand-written"}, {"platform", "linux"}}}}}};
    const nlohmann::json answer = checked(
        send("POST", "/app/" + app_id + "/auth/providers/local-userpass/login", body.dump(), ""));
    access_token_ = answer.at("access_token").get<std::string>();
    refresh_token_ = answer.at("refresh_token").get<std::string>();
  }

  ApiKey create(const std::string& name) {
    const nlohmann::json body = {{"name", name}};
    return parse_key(checked(send("POST", "/auth/api_keys", body.dump(), refresh_token_)));
  }
  ApiKey fetch(const std::string& id) {
    return parse_key(checked(send("GET", "/auth/api_keys/" + id, "", refresh_token_)));
  }
  std::vector<ApiKey> fetch_all() {
    const nlohmann::json answer = checked(send("GET", "/auth/api_keys", "", refresh_token_));
    std::vector<ApiKey> keys;
    for (const nlohmann::json& item : answer) keys.push_back(parse_key(item));
    return keys;
  }
  void enable(const std::string& id) {
    checked(send("PUT", "/auth/api_keys/" + id + "/enable", "", refresh_token_), false);
  }
  void disable(const std::string& id) {
    checked(send("PUT", "/auth/api_keys/" + id + "/disable", "", refresh_token_), false);
  }
  void remove(const std::string& id) {
    checked(send("DELETE", "/auth/api_keys/" + id, "", refresh_token_), false);
  }

 private:
  static ApiKey parse_key(const nlohmann::json& item) {
    ApiKey key;
    key.id = item.at("_id").get<std::string>();
    key.name = item.at("name").get<std::string>();
    key.disabled = item.at("disabled").get<bool>();
    if (auto found = item.find("key"); found != item.end()) key.key = found->get<std::string>();
    return key;
  }

  static nlohmann::json checked(const Response& response, bool parse = true) {
    if (response.status < 200 || response.status > 299) {
      std::string message = "HTTP " + std::to_string(response.status);
      const nlohmann::json error = nlohmann::json::parse(response.body, nullptr, false);
      if (error.is_object() && error.contains("error_code"))
        message += ": " + error["error_code"].get<std::string>();
      throw std::runtime_error(message);
    }
    if (!parse) return nullptr;
    return nlohmann::json::parse(response.body);
  }

  Response send(const char* method, const std::string& path, const std::string& body,
                const std::string& bearer) {
    Response response;
    curl_slist* headers = curl_slist_append(nullptr, "Accept: application/json");
    if (!body.empty()) headers = curl_slist_append(headers, "Content-Type: application/json");
    if (!bearer.empty())
      headers = curl_slist_append(headers, ("Authorization: Bearer " + bearer).c_str());
    const std::string url = base_ + path;
    curl_easy_reset(curl_);
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, 60000L);
    if (!body.empty()) {
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.data());
      curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    }
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, append_body);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &response.body);
    const CURLcode code = curl_easy_perform(curl_);
    curl_slist_free_all(headers);
    if (code != CURLE_OK) throw std::runtime_error(curl_easy_strerror(code));
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &response.status);
    return response;
  }

  std::string base_;
  CURL* curl_;
  std::string access_token_;
  std::string refresh_token_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: hand_written_client BASE_URL EMAIL PASSWORD\n");
    return 2;
  }
  try {
    Client client(argv[1]);
    client.log_in("shop-abcde", argv[2], argv[3]);
    const ApiKey key = client.create("reporting");
    client.fetch(key.id);
    std::printf("%zu key(s)\n", client.fetch_all().size());
    client.disable(key.id);
    client.enable(key.id);
    client.remove(key.id);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "error: %s\n", error.what());
    return 1;
  }
  return 0;
}
