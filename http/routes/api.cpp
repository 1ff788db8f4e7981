#include "api.h"

#include <chrono>
#include <exception>
#include <new>
#include <utility>

#include "http/server/problem.h"
#include "routes.h"

namespace culex {

Api::Api(ApiContext ctx) : ctx_(std::move(ctx)) {
    add_service_routes(router_, ctx_, metrics_);
    add_message_routes(router_, ctx_);
    add_change_routes(router_, ctx_);
    add_token_routes(router_, ctx_);
    add_storage_routes(router_, ctx_);
    add_utility_routes(router_, ctx_);
    add_stream_routes(router_, ctx_);
    add_rule_routes(router_, ctx_);
    add_delivery_routes(router_, ctx_);
    if (ctx_.config.book_api)
        add_book_routes(router_, ctx_);
}

Response Api::handle(Request& request) {
    const auto started = std::chrono::steady_clock::now();
    const Route* route = nullptr;
    Response response = dispatch(request, route);
    metrics_.record(
        request.method.size() <= 10 ? request.method : "other",
        route != nullptr ? route->pattern : "unmatched", response.status,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    return response;
}

std::string Api::not_found_detail(const std::string& path) const {
    std::string detail = "no such endpoint; the API is described at /api/v1/openapi.json";
    // The book's routes take a topic as one path segment; /get/sensors/room1 is the
    // likeliest way to miss them.
    if (ctx_.config.book_api && (path.rfind("/get/", 0) == 0 || path.rfind("/pub/", 0) == 0)) {
        detail +=
            ". In the book's routes a topic is one path segment: write each '/' in it "
            "as %2F, as in /get/sensors%2Froom1";
    }
    return detail;
}

Response Api::dispatch(Request& request, const Route*& route) {
    try {
        Router::Match match = router_.match(request);
        route = match.route;
        if (match.status == 400)
            return problem(400, "the path has a malformed %-escape");
        if (match.status == 404)
            return problem(404, not_found_detail(request.path));
        if (match.status == 405 && request.method == "OPTIONS") {
            // What the path allows, which a CORS preflight also asks (server.h).
            Response r;
            r.status = 204;
            r.content_type.clear();
            r.headers.emplace_back("Allow", match.allow);
            return r;
        }
        if (match.status == 405) {
            Response r = problem(405, request.method + " is not allowed here; use " + match.allow);
            r.headers.emplace_back("Allow", match.allow);
            return r;
        }
        Principal principal;
        if (match.route->scope != Scope::kNone) {
            AuthResult auth = ctx_.auth.authenticate(request.authorization);
            if (auth.status != 200) {
                Response r = problem(auth.status, auth.detail);
                if (auth.status == 503)
                    r.headers.emplace_back("Retry-After", "1");
                return r;
            }
            if (!auth.principal.has(match.route->scope)) {
                return problem(403, std::string("this token lacks the '") +
                                        scope_name(match.route->scope) + "' scope");
            }
            principal = std::move(auth.principal);
        }
        return match.route->handler(request, principal);
    } catch (const std::bad_alloc&) {
        return problem(503, "the server is out of memory; try again later");
    } catch (const std::exception& e) {
        ctx_.log.printf(LogLevel::kError, "culex: HTTP %s %s failed: %s", request.method.c_str(),
                        request.path.substr(0, 200).c_str(), e.what());
        return problem(500, "internal error; the broker log has the cause");
    }
}

}  // namespace culex
