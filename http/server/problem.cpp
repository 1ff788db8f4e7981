#include "problem.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "common/utf8.h"

namespace culex {

const char* status_phrase(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 201:
            return "Created";
        case 204:
            return "No Content";
        case 400:
            return "Bad Request";
        case 401:
            return "Unauthorized";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 408:
            return "Request Timeout";
        case 409:
            return "Conflict";
        case 413:
            return "Content Too Large";
        case 415:
            return "Unsupported Media Type";
        case 422:
            return "Unprocessable Content";
        case 429:
            return "Too Many Requests";
        case 431:
            return "Request Header Fields Too Large";
        case 500:
            return "Internal Server Error";
        case 502:
            return "Bad Gateway";
        case 503:
            return "Service Unavailable";
        case 505:
            return "HTTP Version Not Supported";
        default:
            return "Error";
    }
}

Response problem(int status, const std::string& detail) {
    rapidjson::StringBuffer out;
    rapidjson::Writer<rapidjson::StringBuffer> w(out);
    // With type about:blank the title is the status phrase (RFC 9457 §4.2.1).
    w.StartObject();
    w.Key("type");
    w.String("about:blank");
    w.Key("title");
    w.String(status_phrase(status));
    w.Key("status");
    w.Int(status);
    w.Key("detail");
    // Details may quote the request; bytes that are not UTF-8 would make invalid JSON.
    const std::string& text =
        is_valid_utf8(detail) ? detail : std::string("the request contains invalid UTF-8");
    w.String(text.c_str(), static_cast<rapidjson::SizeType>(text.size()));
    w.EndObject();
    Response r;
    r.status = status;
    r.content_type = "application/problem+json";
    r.body.assign(out.GetString(), out.GetSize());
    if (status == 401)
        r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"culex\"");
    return r;
}

}  // namespace culex
