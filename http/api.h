// The HTTP API as one function from Request to Response: routing, the token check and
// scope, and a problem+json answer for anything that goes wrong, so that no exception
// reaches civetweb. Built once; handle() is called concurrently by worker threads.
#pragma once

#include "api_context.h"
#include "router.h"

namespace culex {

class Api {
  public:
    explicit Api(ApiContext ctx);
    Api(const Api&) = delete;
    Api& operator=(const Api&) = delete;

    Response handle(Request& request);
    const Router& router() const { return router_; }

  private:
    ApiContext ctx_;
    Router router_;
};

}  // namespace culex
