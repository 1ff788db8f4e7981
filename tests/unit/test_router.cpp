#include <rapidjson/document.h>
#include <catch2/catch.hpp>

#include <string>

#include "http/routes/api.h"
#include "http/routes/http_assets.h"
#include "http/server/router.h"

using namespace culex;

namespace {

Response named(const char* name) {
    Response r;
    r.body = name;
    return r;
}

Router sample_router() {
    Router router;
    router.add({"GET", "/api/v1/messages/{id}", Scope::kRead,
                [](Request&, const Principal&) { return named("by-id"); }});
    router.add({"GET", "/api/v1/messages/latest", Scope::kRead,
                [](Request&, const Principal&) { return named("latest"); }});
    router.add({"DELETE", "/api/v1/messages/{id}", Scope::kWrite,
                [](Request&, const Principal&) { return named("delete"); }});
    return router;
}

}  // namespace

TEST_CASE("router: literal segments win, parameters are decoded", "[http]") {
    Router router = sample_router();
    Request r;
    r.method = "GET";
    r.path = "/api/v1/messages/latest";
    Router::Match m = router.match(r);
    REQUIRE(m.status == 200);
    CHECK(m.route->handler(r, {}).body == "latest");

    r.path = "/api/v1/messages/a%2Fb";
    m = router.match(r);
    REQUIRE(m.status == 200);
    CHECK(m.route->handler(r, {}).body == "by-id");
    CHECK(r.path_params == std::vector<std::string>{"a/b"});
}

TEST_CASE("router: 404, 405 with Allow, 400 for bad escapes", "[http]") {
    Router router = sample_router();
    Request r;
    r.method = "GET";
    r.path = "/api/v1/nothing";
    CHECK(router.match(r).status == 404);
    r.path = "/api/v1/messages/";
    CHECK(router.match(r).status == 404);
    r.path = "";
    CHECK(router.match(r).status == 404);
    r.method = "PUT";
    r.path = "/api/v1/messages/7";
    Router::Match m = router.match(r);
    CHECK(m.status == 405);
    CHECK(m.allow == "GET, DELETE");
    r.method = "GET";
    r.path = "/api/v1/messages/%zz";
    CHECK(router.match(r).status == 400);
}

TEST_CASE("every API route is in the OpenAPI document, and nothing else is", "[http]") {
    Config config;
    LogQueue log;
    PgPool pool("host=127.0.0.1 port=1", 1);
    Authenticator auth(pool, "");
    Api api(
        ApiContext{config, pool, auth, log, nullptr, {}, nullptr, nullptr, nullptr, nullptr, {}, {}});
    rapidjson::Document doc;
    doc.Parse(kOpenApiJson);
    REQUIRE_FALSE(doc.HasParseError());
    REQUIRE(doc["openapi"].GetString() == std::string("3.0.3"));
    const auto& paths = doc["paths"];
    size_t documented = 0;
    for (const auto& path : paths.GetObject())
        documented += path.value.MemberCount();
    for (const Route& route : api.router().routes()) {
        INFO(route.method << " " << route.pattern);
        REQUIRE(paths.HasMember(route.pattern.c_str()));
        std::string method = route.method;
        for (char& c : method)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        CHECK(paths[route.pattern.c_str()].HasMember(method.c_str()));
        const bool open = paths[route.pattern.c_str()][method.c_str()].HasMember("security");
        CHECK(open == (route.scope == Scope::kNone));
    }
    CHECK(documented == api.router().routes().size());
}

TEST_CASE("the API answers problem+json without touching the database", "[http]") {
    Config config;
    LogQueue log;
    PgPool pool("host=127.0.0.1 port=1 connect_timeout=1", 1);
    Authenticator auth(pool, "0123456789abcdef0123");
    Api api(
        ApiContext{config, pool, auth, log, nullptr, {}, nullptr, nullptr, nullptr, nullptr, {}, {}});
    Request r;
    r.method = "GET";
    r.path = "/api/v1/messages";
    Response no_token = api.handle(r);
    CHECK(no_token.status == 401);
    CHECK(no_token.content_type == "application/problem+json");
    r.authorization = "Bearer 0123456789abcdef0123";
    r.query = "limit=5000";
    Response bad = api.handle(r);
    CHECK(bad.status == 400);
    CHECK(bad.body.find("'limit'") != std::string::npos);
    r.method = "PATCH";
    Response wrong_method = api.handle(r);
    CHECK(wrong_method.status == 405);
    r.method = "GET";
    r.path = "/healthz";
    r.authorization.clear();
    CHECK(api.handle(r).status == 200);
}
