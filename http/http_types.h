// A request and a response as the API handlers see them, free of civetweb so that
// handlers and routing can be tested without a server. Built and consumed by one
// worker thread.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace culex {

struct Request {
    std::string method;
    std::string path;   // as received: percent-encoded, without the query
    std::string query;  // as received, without the '?'
    std::string authorization;
    std::string content_type;
    std::string body;
    std::vector<std::string> path_params;  // decoded `{name}` segments, set by the router
};

struct Response {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
};

}  // namespace culex
