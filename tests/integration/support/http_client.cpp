#include "http_client.h"

#include <stdexcept>

namespace culex::test {
namespace {

size_t collect_body(char* data, size_t size, size_t count, void* out) {
    static_cast<std::string*>(out)->append(data, size * count);
    return size * count;
}

size_t collect_header(char* data, size_t size, size_t count, void* out) {
    std::string line(data, size * count);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r'))
        line.pop_back();
    if (!line.empty())
        static_cast<std::vector<std::string>*>(out)->push_back(line);
    return size * count;
}

}  // namespace

bool HttpReply::has_header(const std::string& prefix) const {
    for (const std::string& h : headers) {
        if (h.rfind(prefix, 0) == 0)
            return true;
    }
    return false;
}

HttpClient::HttpClient(std::string base, std::string token)
    : base_(std::move(base)), token_(std::move(token)), curl_(curl_easy_init()) {
    if (curl_ == nullptr)
        throw std::runtime_error("curl_easy_init failed");
}

HttpClient::~HttpClient() {
    curl_easy_cleanup(curl_);
}

HttpReply HttpClient::get(const std::string& path) {
    return request("GET", path, "", {});
}

HttpReply HttpClient::del(const std::string& path) {
    return request("DELETE", path, "", {});
}

HttpReply HttpClient::post_json(const std::string& path, const std::string& body) {
    return request("POST", path, body, {"Content-Type: application/json"});
}

HttpReply HttpClient::request(const std::string& method, const std::string& path,
                              const std::string& body, const std::vector<std::string>& headers) {
    HttpReply reply;
    curl_easy_reset(curl_);
    const std::string url = base_ + path;
    curl_easy_setopt(curl_, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl_, CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, 30000L);
    curl_easy_setopt(curl_, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(curl_, CURLOPT_WRITEDATA, &reply.body);
    curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, collect_header);
    curl_easy_setopt(curl_, CURLOPT_HEADERDATA, &reply.headers);
    if (!ca_file_.empty())
        curl_easy_setopt(curl_, CURLOPT_CAINFO, ca_file_.c_str());
    if (!body.empty() || method == "POST") {
        curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, body.data());
        curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    }
    curl_slist* list = nullptr;
    // An explicit empty Expect keeps curl from waiting for "100 Continue" on big bodies.
    list = curl_slist_append(list, "Expect:");
    if (!token_.empty())
        list = curl_slist_append(list, ("Authorization: Bearer " + token_).c_str());
    for (const std::string& h : headers)
        list = curl_slist_append(list, h.c_str());
    curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, list);
    if (curl_easy_perform(curl_) == CURLE_OK) {
        curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &reply.status);
        char* type = nullptr;
        curl_easy_getinfo(curl_, CURLINFO_CONTENT_TYPE, &type);
        if (type != nullptr)
            reply.content_type = type;
    }
    curl_slist_free_all(list);
    return reply;
}

std::string url_encode(const std::string& text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    return out;
}

}  // namespace culex::test
