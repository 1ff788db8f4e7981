// A blocking HTTP client for tests (libcurl), playing an app that calls the API. Keeps
// its connection alive between requests. Test-thread only.
#pragma once

#include <curl/curl.h>

#include <string>
#include <vector>

namespace culex::test {

struct HttpReply {
    long status = 0;  // 0 when the request failed below HTTP (connection refused, TLS)
    std::string body;
    std::string content_type;
    std::vector<std::string> headers;  // "Name: value" lines
    bool has_header(const std::string& prefix) const;
};

class HttpClient {
  public:
    // `base` like "http://127.0.0.1:8080"; `token` is sent as a bearer token unless empty.
    explicit HttpClient(std::string base, std::string token = "");
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    void set_token(std::string token) { token_ = std::move(token); }
    // For HTTPS with a self-signed certificate: trust this CA file.
    void set_ca_file(std::string path) { ca_file_ = std::move(path); }

    HttpReply get(const std::string& path_and_query);
    HttpReply del(const std::string& path_and_query);
    HttpReply post_json(const std::string& path, const std::string& body);
    // Any method, body and extra header lines ("Name: value").
    HttpReply request(const std::string& method, const std::string& path_and_query,
                      const std::string& body, const std::vector<std::string>& headers);

  private:
    std::string base_;
    std::string token_;
    std::string ca_file_;
    CURL* curl_;
};

// Percent-encodes everything but unreserved characters (RFC 3986), for query values.
std::string url_encode(const std::string& text);

}  // namespace culex::test
