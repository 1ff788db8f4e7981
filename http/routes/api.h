// The HTTP API as one function from Request to Response: routing, the token check and
// scope, a problem+json answer for anything that goes wrong (no exception reaches
// civetweb), and the request counts and latencies /metrics reports. Built once; handle() is called
// concurrently by worker threads.
#pragma once

#include "api_context.h"
#include "http/server/http_metrics.h"
#include "http/server/router.h"

namespace culex {

class Api {
  public:
    explicit Api(ApiContext ctx);
    Api(const Api&) = delete;
    Api& operator=(const Api&) = delete;

    Response handle(Request& request);
    const Router& router() const { return router_; }

  private:
    // Routes and answers the request; `route` is set to the matched route, if any.
    Response dispatch(Request& request, const Route*& route);
    // The 404's detail for `path`, with a hint where a likely mistake explains it.
    std::string not_found_detail(const std::string& path) const;

    ApiContext ctx_;
    HttpMetrics metrics_;
    Router router_;
};

}  // namespace culex
