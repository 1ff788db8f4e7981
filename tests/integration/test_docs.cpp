// The documentation the broker serves: GET / sends people to /docs, and /docs is the
// OpenAPI document rendered as HTML that needs no JavaScript, covering every route the
// router has, with escaped text, code spans, request bodies and example answers; and the
// document's examples have the shape of the real answers.
#include <rapidjson/document.h>
#include <rapidjson/pointer.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <string>

#include "http/routes/api.h"
#include "http/routes/docs_page.h"
#include "http/routes/http_assets.h"
#include "support/api_broker.h"
#include "support/http_client.h"

using namespace culex;
using namespace culex::test;

namespace {

constexpr const char* kAdminToken = "test-admin-token-docs-0123456789";
constexpr const char* kMethods[] = {"get", "put", "post", "patch", "delete"};

rapidjson::Document openapi() {
    rapidjson::Document doc;
    doc.Parse(kOpenApiJson);
    REQUIRE_FALSE(doc.HasParseError());
    return doc;
}

std::string lower(std::string text) {
    for (char& c : text)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

// How the page shows an operation's heading: method, then the escaped path.
std::string route_heading(const std::string& method, const std::string& path) {
    return "<span class=\"method " + lower(method) + "\">" + method + "</span> <code>" +
           html_escape(path) + "</code>";
}

std::string rendered_page() {
    Result<std::string> page = render_docs_page(kOpenApiJson, kDocsHtml);
    INFO(page.status().message());
    REQUIRE(page.is_ok());
    return page.value();
}

// A route's answer when it is a success (2xx or 3xx).
bool success(const std::string& status) {
    return !status.empty() && (status[0] == '2' || status[0] == '3');
}

const rapidjson::Value* resolve(const rapidjson::Document& doc, const rapidjson::Value* v) {
    while (v != nullptr && v->IsObject() && v->HasMember("$ref")) {
        const std::string ref = (*v)["$ref"].GetString();
        v = rapidjson::Pointer(ref.c_str()).Get(doc);
    }
    return v;
}

bool same_kind(const rapidjson::Value& a, const rapidjson::Value& b) {
    if (a.IsNull() || b.IsNull())
        return true;  // nullable fields: the example may show either
    if (a.IsNumber() || b.IsNumber())
        return a.IsNumber() && b.IsNumber();
    if (a.IsBool() || b.IsBool())
        return a.IsBool() && b.IsBool();
    return a.GetType() == b.GetType();
}

// The example has the shape of the live answer: every field it shows is in the answer,
// with a value of the same kind, down through objects and the first element of arrays;
// and every field of the answer is one the schema names, where the schema lists them.
void check_shape(const rapidjson::Document& doc, const rapidjson::Value& example,
                 const rapidjson::Value& live, const rapidjson::Value* schema,
                 const std::string& where) {
    INFO(where);
    REQUIRE(same_kind(example, live));
    if (example.IsNull() || live.IsNull())
        return;
    schema = resolve(doc, schema);
    if (example.IsObject()) {
        for (const auto& field : example.GetObject()) {
            const std::string name = field.name.GetString();
            INFO("field " << name << " of the example");
            REQUIRE(live.HasMember(field.name));
            const rapidjson::Value* sub = nullptr;
            if (schema != nullptr && schema->HasMember("properties") &&
                (*schema)["properties"].HasMember(field.name))
                sub = &(*schema)["properties"][field.name];
            check_shape(doc, field.value, live[field.name], sub, where + "." + name);
        }
        if (schema != nullptr && schema->HasMember("properties")) {
            for (const auto& field : live.GetObject()) {
                INFO("field " << field.name.GetString() << " of the answer");
                CHECK((*schema)["properties"].HasMember(field.name));
            }
        }
    } else if (example.IsArray() && !example.Empty() && !live.Empty()) {
        const rapidjson::Value* items =
            schema != nullptr && schema->HasMember("items") ? &(*schema)["items"] : nullptr;
        check_shape(doc, example[0], live[0], items, where + "[0]");
    }
}

ApiBroker& api() {
    // E-mail points at a closed port: a queued e-mail stays pending, which is all the
    // list of deliveries needs.
    static ApiBroker instance(kAdminToken, {{"smtp_url", "smtp://127.0.0.1:1"},
                                            {"smtp_starttls", "false"},
                                            {"smtp_from", "culex@example.com"}});
    return instance;
}

}  // namespace

TEST_CASE("the docs page shows every route the router has, and the document covers them",
          "[docs]") {
    Config config;
    LogQueue log;
    PgPool pool("host=127.0.0.1 port=1", 1);
    Authenticator auth(pool, "");
    Api api_in_process(ApiContext{.config = config,
                                  .pool = pool,
                                  .auth = auth,
                                  .log = log,
                                  .backlog = {},
                                  .wake_deliveries = {},
                                  .rules_changed = {}});
    const rapidjson::Document doc = openapi();
    const std::string page = rendered_page();
    REQUIRE(api_in_process.router().routes().size() > 60);
    for (const Route& route : api_in_process.router().routes()) {
        INFO(route.method << " " << route.pattern);
        REQUIRE(doc["paths"].HasMember(route.pattern.c_str()));
        CHECK(doc["paths"][route.pattern.c_str()].HasMember(lower(route.method).c_str()));
        CHECK(page.find(route_heading(route.method, route.pattern)) != std::string::npos);
    }
}

TEST_CASE("every answer with a body has an example, and so does every request body", "[docs]") {
    const rapidjson::Document doc = openapi();
    int operations = 0;
    for (const auto& path : doc["paths"].GetObject()) {
        for (const char* method : kMethods) {
            if (!path.value.HasMember(method))
                continue;
            ++operations;
            const rapidjson::Value& op = path.value[method];
            INFO(method << " " << path.name.GetString());
            CHECK(op.HasMember("summary"));
            REQUIRE(op.HasMember("tags"));
            int successes = 0;
            for (const auto& response : op["responses"].GetObject()) {
                if (!success(response.name.GetString()))
                    continue;
                ++successes;
                INFO("answer " << response.name.GetString());
                if (std::string(response.name.GetString()) == "204") {
                    CHECK_FALSE(response.value.HasMember("content"));
                    continue;
                }
                REQUIRE(response.value.HasMember("content"));
                for (const auto& media : response.value["content"].GetObject()) {
                    INFO(media.name.GetString());
                    CHECK(media.value.HasMember("schema"));
                    CHECK(media.value.HasMember("example"));
                }
            }
            CHECK(successes > 0);
            if (op.HasMember("requestBody")) {
                for (const auto& media : op["requestBody"]["content"].GetObject()) {
                    INFO("request body " << media.name.GetString());
                    CHECK(media.value.HasMember("schema"));
                    CHECK(media.value.HasMember("example"));
                }
            }
        }
    }
    CHECK(operations > 60);
}

TEST_CASE("the docs page reads without JavaScript: bodies, examples, code spans", "[docs]") {
    const std::string page = rendered_page();
    CHECK(page.find("<script") == std::string::npos);
    // Every Markdown code span is rendered; no raw backtick is left.
    CHECK(page.find('`') == std::string::npos);
    CHECK(page.find(kDocsPlaceholder) == std::string::npos);
    // Every link within the page leads to exactly one element.
    int links = 0;
    for (size_t at = page.find("href=\"#"); at != std::string::npos;
         at = page.find("href=\"#", at + 1)) {
        const size_t from = at + 7;
        const std::string id = "id=\"" + page.substr(from, page.find('"', from) - from) + "\"";
        INFO(id);
        const size_t first = page.find(id);
        CHECK(first != std::string::npos);
        CHECK(page.find(id, first + 1) == std::string::npos);
        ++links;
    }
    CHECK(links > 100);
    // POST /api/v1/messages: its body's fields, its example, and the answer's example.
    const size_t insert = page.find("<article class=\"route\" id=\"post-api-v1-messages\">");
    REQUIRE(insert != std::string::npos);
    const size_t next = page.find("<article", insert + 1);
    const std::string section = page.substr(insert, next - insert);
    CHECK(section.find("<h4>Request body</h4>") != std::string::npos);
    CHECK(section.find("<code>payload_base64</code>") != std::string::npos);
    CHECK(section.find("&quot;topic&quot;: &quot;sensors/room1&quot;") != std::string::npos);
    CHECK(section.find("<h5>201 <code>application/json</code></h5>") != std::string::npos);
    CHECK(section.find("&quot;id&quot;: 1001") != std::string::npos);
    // A form body's example, as the form is sent.
    CHECK(page.find("topicPattern=plant%2F%25%2Ftemp&amp;payloadPattern=%25hot%25&amp;method=POST"
                    "&amp;webHook=https%3A%2F%2Fhooks.example.com%2Fx") != std::string::npos);
    // A description's code span.
    CHECK(page.find("(or at <code>time</code>)") != std::string::npos);
    // The redirect of GET / with its Location header.
    CHECK(page.find("Header <code>Location</code>: <code>/docs</code>") != std::string::npos);
}

TEST_CASE("code spans as CommonMark reads them, everything else escaped", "[docs]") {
    CHECK(markdown_inline_html("a `b<c` d") == "a <code>b&lt;c</code> d");
    CHECK(markdown_inline_html("``a`b``") == "<code>a`b</code>");
    CHECK(markdown_inline_html("` x `") == "<code>x</code>");
    CHECK(markdown_inline_html("`  `") == "<code>  </code>");
    CHECK(markdown_inline_html("`a` and `b`") == "<code>a</code> and <code>b</code>");
    // A run that no run of its length closes is literal; the text after it is read on.
    CHECK(markdown_inline_html("a ` b") == "a ` b");
    CHECK(markdown_inline_html("`a``") == "`a``");
    CHECK(markdown_inline_html("``a` b`") == "``a<code> b</code>");
    CHECK(markdown_inline_html("") == "");
    CHECK(markdown_inline_html("<b>&\"'") == "&lt;b&gt;&amp;&quot;&#39;");
    CHECK(html_escape("<script>alert('x')</script>") ==
          "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
}

TEST_CASE("strings from the document never become markup", "[docs]") {
    const char* hostile = R"({
      "openapi": "3.0.3",
      "info": {"title": "t", "version": "<v>", "description": "<img src=x onerror=alert(1)>"},
      "tags": [{"name": "<b>tag</b>", "description": "`<i>`"}],
      "paths": {"/x/<script>": {"get": {
        "summary": "\"quoted\" & <u>",
        "tags": ["<b>tag</b>"],
        "parameters": [{"name": "<pn>", "in": "query", "description": "</td>",
                        "schema": {"type": "string", "enum": ["<e>"], "default": "<d>"}}],
        "requestBody": {"content": {"<m>/json": {"schema": {"type": "object",
            "properties": {"<f>": {"type": "<t>", "format": "<fmt>"}}},
            "example": {"<k>": "</pre><script>"}}}},
        "responses": {"200": {"description": "<s>", "headers": {"<h>": {"description": "<hd>"}},
          "content": {"text/plain": {"schema": {"type": "string"},
                                     "example": "</pre><script>alert(2)</script>"}}}}}}},
      "components": {"schemas": {"<n>": {"description": "<sd>", "example": "<x>"}}}
    })";
    Result<std::string> page = render_docs_page(hostile, "<body><!-- culex:api --></body>");
    REQUIRE(page.is_ok());
    const std::string& html = page.value();
    INFO(html);
    for (const char* raw :
         {"<script", "<img", "<i>", "<u>", "<pn>", "<e>", "<d>",  "<m>", "<f>", "<t>",
          "<fmt>",   "<k>",  "<s>", "<h>", "<hd>", "<n>", "<sd>", "<x>", "<v>", "<b>tag"})
        CHECK(html.find(raw) == std::string::npos);
    CHECK(html.find("&lt;/td&gt;") != std::string::npos);
    CHECK(html.find("&lt;img src=x onerror=alert(1)&gt;") != std::string::npos);
    CHECK(html.find("<code>/x/&lt;script&gt;</code>") != std::string::npos);
    CHECK(html.find("&quot;quoted&quot; &amp; &lt;u&gt;") != std::string::npos);
    CHECK(html.find("<code>&lt;i&gt;</code>") != std::string::npos);
    CHECK(html.find("&lt;/pre&gt;&lt;script&gt;alert(2)&lt;/script&gt;") != std::string::npos);
    // Anchors are made of letters, digits and '-' only.
    CHECK(html.find("id=\"get-x-script\"") != std::string::npos);
}

TEST_CASE("a page or document the renderer cannot use is an error naming it", "[docs]") {
    const std::string page = "<body><!-- culex:api --></body>";
    Result<std::string> no_placeholder = render_docs_page(kOpenApiJson, "<body></body>");
    REQUIRE_FALSE(no_placeholder.is_ok());
    CHECK(no_placeholder.status().message().find("culex:api") != std::string::npos);
    Result<std::string> broken = render_docs_page(R"({"paths": )", page);
    REQUIRE_FALSE(broken.is_ok());
    CHECK(broken.status().message().find("does not parse") != std::string::npos);
    Result<std::string> no_paths = render_docs_page(R"({"openapi": "3.0.3"})", page);
    REQUIRE_FALSE(no_paths.is_ok());
    CHECK(no_paths.status().message().find("no paths") != std::string::npos);
    // The smallest document there is: a page with nothing but the contents.
    Result<std::string> empty = render_docs_page(R"({"paths": {}})", page);
    REQUIRE(empty.is_ok());
    CHECK(empty.value().find("<h2>Contents</h2>") != std::string::npos);
    CHECK(empty.value().find("<article") == std::string::npos);
}

TEST_CASE("references that go round in a circle end", "[docs]") {
    Result<std::string> page = render_docs_page(
        R"({"paths": {"/loop": {"post": {
              "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/a"}}}},
              "responses": {"200": {"description": "d", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/A"}}}}}}}},
            "a": {"type": "array", "items": {"$ref": "#/a"}, "allOf": [{"$ref": "#/a"}]},
            "components": {"schemas": {
              "A": {"allOf": [{"$ref": "#/components/schemas/B"}]},
              "B": {"allOf": [{"$ref": "#/components/schemas/A"}],
                    "properties": {"x": {"type": "object", "properties": {"y": {"$ref": "#/a"}}}}},
              "C": {"$ref": "#/components/schemas/C"}}}})",
        "<!-- culex:api -->");
    REQUIRE(page.is_ok());
    CHECK(page.value().find("<code>/loop</code>") != std::string::npos);
    CHECK(page.value().find("<code>x.y</code>") != std::string::npos);
}

TEST_CASE("an operation without a tag the document lists is still on the page", "[docs]") {
    Result<std::string> page = render_docs_page(
        R"({"tags": [{"name": "a"}], "paths": {
              "/one": {"get": {"tags": ["a"], "responses": {}}},
              "/two": {"get": {"tags": ["unlisted"], "responses": {}}},
              "/three": {"post": {"responses": {}}}}})",
        "<!-- culex:api -->");
    REQUIRE(page.is_ok());
    const std::string& html = page.value();
    for (const char* path : {"/one", "/two", "/three"}) {
        INFO(path);
        CHECK(html.find("</span> <code>" + std::string(path) + "</code>") != std::string::npos);
    }
    CHECK(html.find("<h2>unlisted</h2>") != std::string::npos);
    CHECK(html.find("<h2>other</h2>") != std::string::npos);
}

TEST_CASE("GET / sends a browser to /docs and names the entry points", "[docs][broker]") {
    HttpClient nobody(api().base);
    HttpReply root = nobody.get("/");
    INFO(root.body);
    CHECK(root.status == 302);
    CHECK(root.has_header("Location: /docs"));
    CHECK(root.content_type == "application/json");
    rapidjson::Document body = json(root);
    CHECK(body["docs"].GetString() == std::string("/docs"));
    CHECK(body["api"].GetString() == std::string("/api/v1"));
    CHECK(body["openapi"].GetString() == std::string("/api/v1/openapi.json"));
    // Only / itself: other unknown paths stay 404.
    CHECK(nobody.get("/index.html").status == 404);
    CHECK(nobody.request("POST", "/", "", {}).status == 405);
}

TEST_CASE("GET /docs is the rendered page, open and script-free", "[docs][broker]") {
    HttpClient nobody(api().base);
    HttpReply docs = nobody.get("/docs");
    CHECK(docs.status == 200);
    CHECK(docs.content_type == "text/html; charset=utf-8");
    CHECK(
        docs.has_header("Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'"));
    CHECK(docs.body == rendered_page());
    CHECK(docs.body.find(route_heading("GET", "/api/v1/messages")) != std::string::npos);
}

TEST_CASE("the examples have the shape of the real answers", "[docs][broker]") {
    HttpClient admin(api().base, kAdminToken);
    // Something in every list (a record, a token, a rule, a delivery), with the optional
    // fields the examples show.
    REQUIRE(admin
                .post_json("/api/v1/messages",
                           R"({"topic": "docs/room1", "payload": "{\"temp\": 21.5}"})")
                .status == 201);
    REQUIRE(admin.post_json("/api/v1/tokens", R"({"name": "docs-reader", "scopes": ["read"]})")
                .status == 201);
    REQUIRE(admin
                .post_json("/api/v1/rules", R"({"name": "docs-rule", "topic_filter": "docs/+",
                                                 "where": "temp>30", "actions": [{"type": "webhook",
                                                   "url": "https://hooks.example.com/x"}]})")
                .status == 201);
    REQUIRE(
        admin
            .post_json("/api/v1/email", R"({"to": "ops@example.com", "subject": "s", "text": "t"})")
            .status == 202);

    // Every GET route that takes no path parameter and answers JSON.
    const rapidjson::Document doc = openapi();
    int compared = 0;
    for (const auto& path : doc["paths"].GetObject()) {
        const std::string route = path.name.GetString();
        if (!path.value.HasMember("get") || route.find('{') != std::string::npos)
            continue;
        for (const auto& response : path.value["get"]["responses"].GetObject()) {
            const std::string status = response.name.GetString();
            if (!success(status) || !response.value.HasMember("content") ||
                !response.value["content"].HasMember("application/json"))
                continue;
            const rapidjson::Value& media = response.value["content"]["application/json"];
            INFO("GET " << route);
            // The two such routes that need a selection.
            const bool selects =
                route == "/api/v1/messages/latest" || route == "/api/v1/messages/aggregate";
            HttpReply live = admin.get(selects ? route + "?topic=docs/room1" : route);
            INFO(live.body.substr(0, 500));
            REQUIRE(live.status == std::stol(status));
            check_shape(doc, media["example"], json(live), &media["schema"], route);
            ++compared;
        }
    }
    CHECK(compared >= 15);
}
