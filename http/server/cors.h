// Cross-origin access for browsers (CORS): which origins may call the API from a page,
// and the headers that tell the browser so. The API uses bearer tokens, never cookies,
// so no credentials mode is offered. Built once at start; const methods from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http_types.h"

namespace culex {

class CorsPolicy {
  public:
    // Exact origins ("https://app.example.com"), or the single entry "*" for any; empty:
    // no origin is allowed and no CORS header is ever sent.
    explicit CorsPolicy(std::vector<std::string> origins);

    bool allows(std::string_view origin) const;
    // Adds Access-Control-Allow-Origin (and Vary: Origin) when `origin` is allowed; for a
    // preflight (OPTIONS with Access-Control-Request-Method) answered 204, also the
    // methods (the answer's Allow), headers and max age the browser may cache.
    void apply(std::string_view origin, bool preflight, Response& response) const;

  private:
    std::vector<std::string> origins_;
    bool any_ = false;
};

}  // namespace culex
