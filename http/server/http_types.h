// A request and a response as the API handlers see them, free of civetweb so that
// handlers and routing can be tested without a server. Built and consumed by one
// worker thread.
#pragma once

#include <functional>
#include <string>
#include <string_view>
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
    std::string last_event_id;             // the Last-Event-ID header (live stream resume)
    std::vector<std::string> path_params;  // decoded `{name}` segments, set by the router
};

// Writes a piece of a streamed body; false once the client is gone.
using StreamWrite = std::function<bool(std::string_view)>;

struct Response {
    int status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    // When set, the body is streamed instead: the headers go out without a length, then
    // stream(write) runs on the worker thread until it returns, and the connection closes.
    std::function<void(const StreamWrite&)> stream;
};

}  // namespace culex
