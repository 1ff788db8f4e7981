// libFuzzer target: whole API requests (method, path, query, headers, JSON body) through
// routing, the token check, parameter and body parsing. The database is unreachable, so
// requests that pass validation end in 503. Every answer is a known status with valid
// JSON, and never 500.
//
// Input: first byte picks the method and whether the admin token is sent; the rest is
// "path\nquery\ncontent-type\nbody".
#include <rapidjson/document.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/routes/api.h"

using namespace culex;

namespace {

constexpr const char* kToken = "fuzz-admin-token-0123456789";

Api& api() {
    static Config config;
    static LogQueue log;
    // Port 1 on loopback refuses at once, so database paths fail fast.
    static PgPool pool("host=127.0.0.1 port=1 connect_timeout=1", 1);
    static Authenticator auth(pool, kToken);
    static Api instance(
        ApiContext{config, pool, auth, log, nullptr, {}, nullptr, nullptr, nullptr, nullptr, {}, {}});
    return instance;
}

std::string_view next_line(std::string_view& rest) {
    const size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0)
        return 0;
    static const char* kMethods[] = {"GET", "POST", "DELETE", "PUT"};
    Request request;
    request.method = kMethods[data[0] & 3];
    if ((data[0] & 4) == 0)
        request.authorization = std::string("Bearer ") + kToken;
    std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    request.path = next_line(rest);
    request.query = next_line(rest);
    request.content_type = next_line(rest);
    request.body = rest;
    Response response = api().handle(request);
    switch (response.status) {
        case 200:
        case 201:
        case 204:
        case 302:  // GET / sends people to /docs
        case 400:
        case 401:
        case 403:
        case 404:
        case 405:
        case 409:
        case 413:
        case 415:
        case 503:
            break;
        default:
            std::abort();
    }
    if (response.content_type == "application/json" ||
        response.content_type == "application/problem+json") {
        rapidjson::Document doc;
        doc.Parse<rapidjson::kParseValidateEncodingFlag>(response.body.c_str(),
                                                         response.body.size());
        if (doc.HasParseError())
            std::abort();
    }
    api().router();  // keeps the instance alive across runs
    return 0;
}
