#include "router.h"

#include <string_view>

#include "http/codecs/query_params.h"

namespace culex {
namespace {

std::vector<std::string_view> segments(std::string_view path) {
    std::vector<std::string_view> out;
    size_t start = 1;
    while (start <= path.size()) {
        size_t end = path.find('/', start);
        if (end == std::string_view::npos)
            end = path.size();
        out.push_back(path.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

bool is_parameter(std::string_view segment) {
    return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

}  // namespace

void Router::add(Route route) {
    routes_.push_back(std::move(route));
}

Router::Match Router::match(Request& request) const {
    Match result;
    if (request.path.empty() || request.path[0] != '/')
        return result;
    const std::vector<std::string_view> parts = segments(request.path);
    int best_literals = -1;
    for (const Route& route : routes_) {
        const std::vector<std::string_view> pattern = segments(route.pattern);
        if (pattern.size() != parts.size())
            continue;
        int literals = 0;
        bool fits = true;
        for (size_t i = 0; i < parts.size() && fits; ++i) {
            if (is_parameter(pattern[i]))
                fits = !parts[i].empty();
            else if (pattern[i] == parts[i])
                ++literals;
            else
                fits = false;
        }
        if (!fits)
            continue;
        // HEAD is GET without the body (the server leaves it out).
        const bool head_of_get = request.method == "HEAD" && route.method == "GET";
        if (route.method != request.method && !head_of_get) {
            if (result.allow.find(route.method) == std::string::npos)
                result.allow += (result.allow.empty() ? "" : ", ") + route.method;
            continue;
        }
        if (literals > best_literals) {
            best_literals = literals;
            result.route = &route;
        }
    }
    if (result.route == nullptr) {
        result.status = result.allow.empty() ? 404 : 405;
        return result;
    }
    const std::vector<std::string_view> pattern = segments(result.route->pattern);
    request.path_params.clear();
    for (size_t i = 0; i < parts.size(); ++i) {
        if (!is_parameter(pattern[i]))
            continue;
        std::optional<std::string> decoded = percent_decode(parts[i], false);
        if (!decoded) {
            result.status = 400;
            result.route = nullptr;
            return result;
        }
        request.path_params.push_back(std::move(*decoded));
    }
    result.status = 200;
    return result;
}

}  // namespace culex
