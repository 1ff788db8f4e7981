// Open endpoints: liveness, readiness, the OpenAPI document and the docs page.
#include "http_assets.h"
#include "json_out.h"
#include "problem.h"
#include "routes.h"

namespace culex {
namespace {

Response text(const char* content_type, const char* body) {
    Response r;
    r.content_type = content_type;
    r.body = body;
    return r;
}

Response ready(ApiContext& ctx) {
    Result<PgPool::Lease> lease = ctx.pool.acquire(std::chrono::seconds(2));
    if (!lease.is_ok())
        return database_unavailable(lease.status());
    PgOutcome outcome = lease.value().db().exec("SELECT 1");
    if (!outcome.ok()) {
        lease.value().discard();
        return problem(503, "the database does not answer; try again shortly");
    }
    return text("application/json", "{\"status\":\"ready\"}");
}

}  // namespace

void add_service_routes(Router& router, ApiContext& ctx) {
    router.add({"GET", "/healthz", Scope::kNone, [](Request&, const Principal&) {
                    return text("application/json", "{\"status\":\"ok\"}");
                }});
    router.add({"GET", "/readyz", Scope::kNone,
                [&ctx](Request&, const Principal&) { return ready(ctx); }});
    router.add({"GET", "/api/v1/openapi.json", Scope::kNone,
                [](Request&, const Principal&) { return text("application/json", kOpenApiJson); }});
    router.add({"GET", "/docs", Scope::kNone, [](Request&, const Principal&) {
                    return text("text/html; charset=utf-8", kDocsHtml);
                }});
}

}  // namespace culex
