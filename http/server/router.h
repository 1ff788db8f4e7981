// Maps a method and path to a route. Patterns are literal segments and `{name}`
// parameters, one per segment ("/api/v1/messages/{id}"); a literal segment wins over a
// parameter. A HEAD request matches the GET route of its path. Built once before the
// server starts, then read-only and shared by all worker threads.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "auth.h"
#include "http_types.h"

namespace culex {

using Handler = std::function<Response(Request&, const Principal&)>;

struct Route {
    std::string method;
    std::string pattern;
    Scope scope = Scope::kNone;  // kNone: open to everyone (health, docs)
    Handler handler;
};

class Router {
  public:
    void add(Route route);
    const std::vector<Route>& routes() const { return routes_; }

    struct Match {
        const Route* route = nullptr;  // set when status is 200
        int status = 404;              // 200, 400 (bad escape in the path), 404 or 405
        std::string allow;             // for 405: the methods the path has
    };
    // On a match, sets request.path_params to the decoded `{name}` segments.
    Match match(Request& request) const;

  private:
    std::vector<Route> routes_;
};

}  // namespace culex
