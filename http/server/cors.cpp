#include "cors.h"

#include <algorithm>

namespace culex {
namespace {

constexpr const char* kAllowedHeaders = "Authorization, Content-Type, Last-Event-ID";
constexpr const char* kMaxAgeSeconds = "600";

}  // namespace

CorsPolicy::CorsPolicy(std::vector<std::string> origins) : origins_(std::move(origins)) {
    any_ = std::find(origins_.begin(), origins_.end(), "*") != origins_.end();
}

bool CorsPolicy::allows(std::string_view origin) const {
    if (origin.empty())
        return false;
    return any_ || std::find(origins_.begin(), origins_.end(), origin) != origins_.end();
}

void CorsPolicy::apply(std::string_view origin, bool preflight, Response& response) const {
    if (!allows(origin))
        return;
    if (any_) {
        response.headers.emplace_back("Access-Control-Allow-Origin", "*");
    } else {
        response.headers.emplace_back("Access-Control-Allow-Origin", std::string(origin));
        response.headers.emplace_back("Vary", "Origin");
    }
    if (!preflight || response.status != 204)
        return;
    std::string methods;
    for (const auto& [name, value] : response.headers) {
        if (name == "Allow")
            methods = value;
    }
    response.headers.emplace_back("Access-Control-Allow-Methods", methods);
    response.headers.emplace_back("Access-Control-Allow-Headers", kAllowedHeaders);
    response.headers.emplace_back("Access-Control-Max-Age", kMaxAgeSeconds);
}

}  // namespace culex
