// The HTTP server, API and front end (plain and TLS) in the test process (no broker), so
// that the sanitizer pass covers them: real PostgreSQL, real sockets, concurrent clients,
// slow and hostile clients, and hostile bytes on the wire.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <thread>
#include <vector>

#include "http/routes/api.h"
#include "http/routes/live_feed.h"
#include "http/server/server.h"
#include "plugin/options.h"
#include "support/fixture.h"
#include "support/http_client.h"
#include "support/raw_http.h"

using namespace culex;
using namespace culex::test;

namespace {

constexpr const char* kToken = "server-admin-token-0123456789";

// The API and its server on a free port, as the plugin wires them.
struct Served {
    explicit Served(HttpSettings settings)
        : db(cluster().create_database()),
          pool(cluster().conninfo(db), 4),
          auth(pool, kToken),
          api(ApiContext{
              config, pool, auth, log, nullptr, {}, nullptr, &live, nullptr, nullptr, {}, {}}),
          port(free_port()) {
        config.broker_id = "in-process";
        settings.listen = "127.0.0.1:" + std::to_string(port);
        server = std::make_unique<HttpServer>(
            settings, [this](Request& request) { return api.handle(request); }, log);
        REQUIRE(server->start().is_ok());
    }
    std::string db;
    Config config;
    LogQueue log;
    PgPool pool;
    Authenticator auth;
    LiveFeed live;
    Api api;
    int port;
    std::unique_ptr<HttpServer> server;
};

// Sends raw bytes on a new connection and returns what comes back until it closes.
std::string raw_exchange(int port, const std::string& bytes) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    timeval tv{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    shutdown(fd, SHUT_WR);
    std::string answer;
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0)
        answer.append(buf, static_cast<size_t>(n));
    close(fd);
    return answer;
}

}  // namespace

TEST_CASE("in process: the API over real sockets, concurrently", "[http][in_process]") {
    HttpSettings settings;
    settings.threads = 8;
    settings.max_body_bytes = 64 * 1024;
    Served s(settings);
    const std::string base = "http://127.0.0.1:" + std::to_string(s.port);
    HttpClient http(base, kToken);
    REQUIRE(
        wait_until([&] { return http.get("/readyz").status == 200; }, std::chrono::seconds(30)));

    std::vector<std::thread> apps;
    std::atomic<int> failures{0};
    for (int a = 0; a < 4; ++a) {
        apps.emplace_back([&, a] {
            HttpClient c(base, kToken);
            for (int i = 0; i < 25; ++i) {
                const std::string topic = "inproc/" + std::to_string(a);
                const std::string body = "{\"topic\": \"" + topic +
                                         "\", \"payload\": \"{\\\"v\\\": " + std::to_string(i) +
                                         "}\"}";
                if (c.post_json("/api/v1/messages", body).status != 201)
                    ++failures;
                if (c.get("/api/v1/messages?topic=" + url_encode(topic) + "&where=v%3E%3D0")
                        .status != 200)
                    ++failures;
                if (c.get("/api/v1/messages/aggregate?topic=" + url_encode(topic) + "&field=v")
                        .status != 200)
                    ++failures;
            }
        });
    }
    for (std::thread& t : apps)
        t.join();
    CHECK(failures == 0);
    CHECK(http.get("/api/v1/topics?filter=inproc%2F%23").body.find("\"messages\":25") !=
          std::string::npos);
    CHECK(http.del("/api/v1/messages?filter=inproc%2F%23&where=v%3C5").body ==
          "{\"matched\":20,\"deleted\":20}");
    CHECK(http.del("/api/v1/trash?filter=inproc%2F%23").body == "{\"matched\":100,\"purged\":20}");

    // Bodies over the limit, declared or chunked, and hostile request lines.
    CHECK(http.post_json("/api/v1/messages", std::string(100000, 'x')).status == 413);
    CHECK(http.request("POST", "/api/v1/messages", std::string(100000, 'x'),
                       {"Content-Type: application/json", "Transfer-Encoding: chunked"})
              .status == 413);
    CHECK(http.post_json("/api/v1/messages", std::string(60000, '[')).status == 400);
    for (const std::string& junk : std::vector<std::string>{
             std::string(
                 "GET /api/v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n"),
             std::string("\x00\xff\r\n\r\n", 6), std::string(20000, 'A') + "\r\n\r\n",
             std::string("GET /") + std::string(10000, 'a') + " HTTP/1.1\r\n\r\n",
             std::string("POST /api/v1/messages HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc")}) {
        raw_exchange(s.port, junk);  // any answer or none; the server must survive
    }
    CHECK(http.get("/healthz").status == 200);
    s.server->stop();
    CHECK(http.get("/healthz").status == 0);
}

TEST_CASE("in process: the TLS front end relays, and survives garbage", "[http][in_process]") {
    const std::string dir = make_temp_dir("culex-tls");
    REQUIRE(run_command({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                         "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem"},
                        dir + "/openssl.log", "", std::chrono::seconds(60)) == 0);
    HttpSettings settings;
    settings.threads = 4;
    settings.head_timeout = std::chrono::milliseconds(2000);
    settings.tls_cert = dir + "/cert.pem";
    settings.tls_key = dir + "/key.pem";
    Served s(settings);
    HttpClient https("https://127.0.0.1:" + std::to_string(s.port), kToken);
    https.set_ca_file(dir + "/cert.pem");
    REQUIRE(
        wait_until([&] { return https.get("/readyz").status == 200; }, std::chrono::seconds(30)));
    const std::string big(50000, 'y');
    HttpReply posted =
        https.post_json("/api/v1/messages", "{\"topic\": \"tls/a\", \"payload\": \"" + big + "\"}");
    REQUIRE(posted.status == 201);
    CHECK(https.get("/api/v1/messages/latest?topic=tls/a").body.find(big) != std::string::npos);
    raw_exchange(s.port, "GET / HTTP/1.1\r\n\r\n");  // plain HTTP on the TLS port
    raw_exchange(s.port, std::string("\x16\x03\x01\x02\x00", 5) + std::string(600, '\x01'));
    raw_exchange(s.port, "");
    std::vector<std::thread> clients;
    std::atomic<int> served{0};
    for (int i = 0; i < 8; ++i) {  // more connections than workers: all are served
        clients.emplace_back([&] {
            HttpClient c("https://127.0.0.1:" + std::to_string(s.port), kToken);
            c.set_ca_file(dir + "/cert.pem");
            for (int r = 0; r < 3; ++r)  // kept alive through TLS
                served += c.get("/healthz").status == 200 ? 1 : 0;
        });
    }
    for (std::thread& t : clients)
        t.join();
    CHECK(served == 24);
    // A TLS client that never finishes its handshake holds no worker, and is closed at
    // the head deadline.
    RawConnection stalled(s.port);
    REQUIRE(stalled.send_text(std::string("\x16\x03\x01", 3)));
    CHECK(https.get("/readyz").status == 200);
    CHECK(stalled.closed_within(std::chrono::seconds(15)));
    CHECK(
        wait_until([&] { return https.get("/healthz").status == 200; }, std::chrono::seconds(30)));
    s.server->stop();
    remove_tree(dir);
}

namespace {

constexpr auto kAnswerWait = std::chrono::seconds(5);  // generous; a blocked API fails it

std::string get_request(const std::string& target, const std::string& extra = "") {
    return "GET " + target + " HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n";
}

std::string bearer() {
    return std::string("Authorization: Bearer ") + kToken + "\r\n";
}

// One request on a new connection, answered within kAnswerWait, or status 0.
RawReply ask(int port, const std::string& request) {
    RawConnection c(port);
    if (!c.connected() || !c.send_text(request))
        return {};
    return c.read_reply(kAnswerWait);
}

}  // namespace

TEST_CASE("in process: slow and idle clients do not take the API away", "[http][in_process]") {
    HttpSettings settings;  // 16 workers, as by default
    // Every client here comes from 127.0.0.1; the per-address cap has its own test.
    settings.max_connections_per_client = 1000;
    Served s(settings);
    REQUIRE(wait_until([&] { return ask(s.port, get_request("/readyz")).status == 200; },
                       std::chrono::seconds(30)));
    // 100 clients dribbling a request head, a line a second, and 20 idle kept-alive ones:
    // with a worker per connection, as civetweb alone gives, nothing else would be served.
    std::vector<std::unique_ptr<RawConnection>> slow;
    for (int i = 0; i < 100; ++i) {
        slow.push_back(std::make_unique<RawConnection>(s.port));
        REQUIRE(slow.back()->send_text("GET /healthz HTTP/1.1\r\nHost: x\r\n"));
    }
    std::vector<std::unique_ptr<RawConnection>> idle;
    for (int i = 0; i < 20; ++i) {
        idle.push_back(std::make_unique<RawConnection>(s.port));
        REQUIRE(idle.back()->send_text(get_request("/healthz")));
        REQUIRE(idle.back()->read_reply(kAnswerWait).status == 200);
    }
    std::atomic<bool> dribbling{true};
    std::atomic<int> lines_sent{0};
    std::thread dribbler([&] {
        for (int line = 0; dribbling && line < 30; ++line) {
            for (auto& c : slow)
                lines_sent += c->send_text("X-Line-" + std::to_string(line) + ": y\r\n") ? 1 : 0;
            for (int t = 0; t < 10 && dribbling; ++t)
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    });
    const std::string read = get_request("/api/v1/messages?topic=swarm%2Fa", bearer());
    int answered = 0;
    for (int round = 0; round < 4; ++round) {
        for (const std::string& request : {get_request("/healthz"), get_request("/readyz"), read}) {
            const RawReply reply = ask(s.port, request);
            INFO(request);
            CHECK(reply.status == 200);
            answered += reply.status == 200 ? 1 : 0;
        }
        std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    CHECK(answered == 12);
    dribbling = false;
    dribbler.join();
    CHECK(lines_sent >= 300);  // the swarm was dribbling all along, none was cut off
    // Every slow client still gets its answer once its head is complete.
    int finished = 0;
    for (auto& c : slow) {
        if (c->send_text("\r\n") && c->read_reply(kAnswerWait).status == 200)
            ++finished;
    }
    CHECK(finished == 100);
    for (auto& c : idle)
        CHECK(c->send_text(get_request("/healthz")));
    for (auto& c : idle)
        CHECK(c->read_reply(kAnswerWait).status == 200);
}

TEST_CASE("in process: connection limits per client address and in all", "[http][in_process]") {
    // `allowed` connections are served (and kept); one more gets `refusal` and is closed;
    // once one of them closes, a new one is served again.
    const auto check_limit = [](int port, int allowed, int refusal) {
        std::vector<std::unique_ptr<RawConnection>> held;
        for (int i = 0; i < allowed; ++i) {
            held.push_back(std::make_unique<RawConnection>(port));
            REQUIRE(held.back()->send_text(get_request("/healthz")));
            REQUIRE(held.back()->read_reply(kAnswerWait).status == 200);
        }
        RawConnection extra(port);
        extra.send_text(get_request("/healthz"));
        const RawReply refused = extra.read_reply(kAnswerWait);
        CHECK(refused.status == refusal);
        CHECK(refused.header("Content-Type") == "application/problem+json");
        CHECK(refused.header("Retry-After") == "1");
        CHECK(refused.body.find("\"status\":" + std::to_string(refusal)) != std::string::npos);
        CHECK(extra.closed_within(kAnswerWait));
        held.pop_back();
        CHECK(wait_until([&] { return ask(port, get_request("/healthz")).status == 200; },
                         std::chrono::seconds(10)));
        for (auto& c : held) {  // the ones allowed are still served
            REQUIRE(c->send_text(get_request("/healthz")));
            CHECK(c->read_reply(kAnswerWait).status == 200);
        }
    };
    SECTION("per client address: 429") {
        HttpSettings settings;
        settings.max_connections_per_client = 5;
        Served s(settings);
        check_limit(s.port, 5, 429);
    }
    SECTION("in all: 503") {
        HttpSettings settings;
        settings.max_connections = 3;
        Served s(settings);
        check_limit(s.port, 3, 503);
    }
}

TEST_CASE("in process: request heads and bodies have a deadline; idle connections close",
          "[http][in_process]") {
    HttpSettings settings;
    settings.head_timeout = std::chrono::milliseconds(1000);
    Served s(settings);
    REQUIRE(wait_until([&] { return ask(s.port, get_request("/readyz")).status == 200; },
                       std::chrono::seconds(30)));
    // A head dribbled a line every 200 ms never completes: 408, closed.
    RawConnection dribble(s.port);
    REQUIRE(dribble.send_text("GET /healthz HTTP/1.1\r\nHost: x\r\n"));
    bool closed = false;
    for (int i = 0; i < 100 && !closed; ++i) {
        dribble.send_text("X-Slow: y\r\n");
        closed = dribble.closed_within(std::chrono::milliseconds(200));
    }
    CHECK(closed);
    CHECK(dribble.received().rfind("HTTP/1.1 408 ", 0) == 0);
    CHECK(dribble.received().find("application/problem+json") != std::string::npos);
    // A body that stops coming: the same.
    RawConnection body(s.port);
    REQUIRE(body.send_text(
        "POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"));
    CHECK(body.closed_within(std::chrono::seconds(10)));
    CHECK(body.received().rfind("HTTP/1.1 408 ", 0) == 0);
    // A kept-alive connection that starts no new request is closed without a word.
    RawConnection idle(s.port);
    REQUIRE(idle.send_text(get_request("/healthz")));
    REQUIRE(idle.read_reply(kAnswerWait).status == 200);
    CHECK(idle.closed_within(std::chrono::seconds(10)));
    CHECK(idle.received().empty());
    // So is one that never sends anything.
    RawConnection silent(s.port);
    CHECK(silent.closed_within(std::chrono::seconds(10)));
    CHECK(silent.received().empty());
}

TEST_CASE("in process: framing through the front end: 431, keep-alive, pipelining, bodies",
          "[http][in_process]") {
    Served s(HttpSettings{});
    const std::string base = "http://127.0.0.1:" + std::to_string(s.port);
    HttpClient http(base, kToken);
    REQUIRE(
        wait_until([&] { return http.get("/readyz").status == 200; }, std::chrono::seconds(30)));
    HttpClient anonymous(base);
    const HttpReply huge = anonymous.request("GET", "/api/v1/messages?topic=a", "",
                                             {"Authorization: Bearer " + std::string(20000, 'a')});
    CHECK(huge.status == 431);
    CHECK(huge.content_type == "application/problem+json");
    CHECK(huge.body.find("\"status\":431") != std::string::npos);
    // Requests one after another on one connection, then two sent at once.
    RawConnection c(s.port);
    for (int i = 0; i < 3; ++i) {
        REQUIRE(c.send_text(get_request("/healthz")));
        CHECK(c.read_reply(kAnswerWait).status == 200);
    }
    REQUIRE(c.send_text(get_request("/healthz") + get_request("/readyz")));
    CHECK(c.read_reply(kAnswerWait).status == 200);
    CHECK(c.read_reply(kAnswerWait).status == 200);
    // A body by length, chunked, and after Expect: 100-continue.
    const std::string message = "{\"topic\": \"frame/a\", \"payload\": \"one\"}";
    const std::string post = "POST /api/v1/messages HTTP/1.1\r\nHost: x\r\n" + bearer() +
                             "Content-Type: application/json\r\n";
    REQUIRE(c.send_text(post + "Content-Length: " + std::to_string(message.size()) + "\r\n\r\n" +
                        message));
    CHECK(c.read_reply(kAnswerWait).status == 201);
    char hex[16];  // the second chunk's size
    snprintf(hex, sizeof hex, "%zx", message.size() - 5);
    REQUIRE(c.send_text(post + "Transfer-Encoding: chunked\r\n\r\n5\r\n" + message.substr(0, 5) +
                        "\r\n"));
    REQUIRE(c.send_text(std::string(hex) + "\r\n" + message.substr(5) + "\r\n0\r\n\r\n"));
    CHECK(c.read_reply(kAnswerWait).status == 201);
    REQUIRE(c.send_text(post + "Content-Length: " + std::to_string(message.size()) +
                        "\r\nExpect: 100-continue\r\n\r\n"));
    CHECK(c.read_reply(kAnswerWait).status == 100);
    REQUIRE(c.send_text(message));
    CHECK(c.read_reply(kAnswerWait).status == 201);
    CHECK(c.received().empty());
    // Framing the front end refuses rather than guess at.
    CHECK(ask(s.port,
              "POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
              "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
              .status == 400);
    CHECK(ask(s.port, "POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc")
              .status == 400);
    CHECK(ask(s.port, "GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n").status == 505);
    CHECK(http.get("/api/v1/topics?filter=frame%2F%23").body.find("\"messages\":3") !=
          std::string::npos);
}

TEST_CASE("in process: HEAD answers every GET route with its status and headers, no body",
          "[http][in_process]") {
    Served s(HttpSettings{});
    const std::string base = "http://127.0.0.1:" + std::to_string(s.port);
    HttpClient http(base, kToken);
    REQUIRE(
        wait_until([&] { return http.get("/readyz").status == 200; }, std::chrono::seconds(30)));
    REQUIRE(
        http.post_json("/api/v1/messages", "{\"topic\": \"head/a\", \"payload\": \"x\"}").status ==
        201);
    RawConnection c(s.port);
    for (const auto& [target, auth] : std::vector<std::pair<std::string, std::string>>{
             {"/healthz", ""},
             {"/api/v1/openapi.json", ""},
             {"/api/v1/messages?topic=head%2Fa", bearer()},
             {"/api/v1/messages?topic=head%2Fa", ""},  // 401 either way
             {"/api/v1/nothing", ""}}) {
        INFO(target);
        REQUIRE(c.send_text(get_request(target, auth)));
        const RawReply get = c.read_reply(kAnswerWait);
        REQUIRE(get.status != 0);
        REQUIRE(c.send_text("HEAD " + target + " HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n"));
        const RawReply head = c.read_reply(kAnswerWait, true);
        CHECK(head.status == get.status);
        CHECK(head.header("Content-Type") == get.header("Content-Type"));
        CHECK(head.header("Content-Length") == std::to_string(get.body.size()));
    }
    // Nothing followed the HEAD answers: the connection still reads answer by answer.
    REQUIRE(c.send_text(get_request("/healthz")));
    CHECK(c.read_reply(kAnswerWait).status == 200);
    CHECK(c.received().empty());
    // A path with no GET still answers HEAD 405.
    REQUIRE(c.send_text("HEAD /api/v1/tokens/x HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK(c.read_reply(kAnswerWait, true).status == 405);
}

TEST_CASE("in process: CORS for the configured origins only, none by default",
          "[http][in_process]") {
    const auto preflight = [](HttpClient& client, const std::string& origin) {
        return client.request("OPTIONS", "/api/v1/messages", "",
                              {"Origin: " + origin, "Access-Control-Request-Method: GET",
                               "Access-Control-Request-Headers: authorization"});
    };
    SECTION("a list of origins") {
        HttpSettings settings;
        settings.cors_origins = {"https://app.example", "http://localhost:3000"};
        Served s(settings);
        HttpClient http("http://127.0.0.1:" + std::to_string(s.port), kToken);
        REQUIRE(wait_until([&] { return http.get("/readyz").status == 200; },
                           std::chrono::seconds(30)));
        const HttpReply allowed = http.request("GET", "/api/v1/messages?topic=cors", "",
                                               {"Origin: http://localhost:3000"});
        CHECK(allowed.status == 200);
        CHECK(allowed.has_header("Access-Control-Allow-Origin: http://localhost:3000"));
        CHECK(allowed.has_header("Vary: Origin"));
        HttpClient anonymous("http://127.0.0.1:" + std::to_string(s.port));
        const HttpReply error = anonymous.request("GET", "/api/v1/messages?topic=cors", "",
                                                  {"Origin: https://app.example"});
        CHECK(error.status == 401);  // the page can read why
        CHECK(error.has_header("Access-Control-Allow-Origin: https://app.example"));
        const HttpReply refused = http.request("GET", "/api/v1/messages?topic=cors", "",
                                               {"Origin: https://evil.example"});
        CHECK(refused.status == 200);
        CHECK_FALSE(refused.has_header("Access-Control-"));
        CHECK_FALSE(refused.has_header("Vary"));
        const HttpReply ok = preflight(anonymous, "https://app.example");
        CHECK(ok.status == 204);
        CHECK(ok.has_header("Access-Control-Allow-Origin: https://app.example"));
        CHECK(ok.has_header("Access-Control-Allow-Methods: GET, POST, DELETE"));
        CHECK(ok.has_header(
            "Access-Control-Allow-Headers: Authorization, Content-Type, Last-Event-ID"));
        CHECK(ok.has_header("Access-Control-Max-Age: 600"));
        const HttpReply no = preflight(anonymous, "https://app.example.evil");
        CHECK(no.status == 204);
        CHECK_FALSE(no.has_header("Access-Control-"));
        CHECK(anonymous
                  .request("OPTIONS", "/api/v1/nothing", "",
                           {"Origin: https://app.example", "Access-Control-Request-Method: GET"})
                  .status == 404);
    }
    SECTION("any origin") {
        HttpSettings settings;
        settings.cors_origins = {"*"};
        Served s(settings);
        HttpClient http("http://127.0.0.1:" + std::to_string(s.port), kToken);
        REQUIRE(wait_until([&] { return http.get("/readyz").status == 200; },
                           std::chrono::seconds(30)));
        const HttpReply any =
            http.request("GET", "/healthz", "", {"Origin: https://anything.example"});
        CHECK(any.has_header("Access-Control-Allow-Origin: *"));
        CHECK(preflight(http, "https://anything.example")
                  .has_header("Access-Control-Allow-Methods: GET, POST, DELETE"));
    }
    SECTION("unset") {
        Served s(HttpSettings{});
        HttpClient http("http://127.0.0.1:" + std::to_string(s.port), kToken);
        REQUIRE(wait_until([&] { return http.get("/readyz").status == 200; },
                           std::chrono::seconds(30)));
        CHECK_FALSE(http.request("GET", "/healthz", "", {"Origin: https://app.example"})
                        .has_header("Access-Control-"));
        const HttpReply options = preflight(http, "https://app.example");
        CHECK(options.status == 204);
        CHECK_FALSE(options.has_header("Access-Control-"));
    }
}

TEST_CASE("in process: the live stream through the front end, with Last-Event-ID",
          "[http][in_process]") {
    HttpSettings settings;
    settings.head_timeout = std::chrono::milliseconds(1000);  // a stream outlives it
    Served s(settings);
    REQUIRE(wait_until([&] { return ask(s.port, get_request("/readyz")).status == 200; },
                       std::chrono::seconds(30)));
    CHECK(ask(s.port, get_request("/api/v1/stream?filter=live%2F%23",
                                  bearer() + "Last-Event-ID: not-an-id\r\n"))
              .status == 400);
    auto stream = std::make_unique<RawConnection>(s.port);
    REQUIRE(stream->send_text(
        get_request("/api/v1/stream?filter=live%2F%23", bearer() + "Last-Event-ID: 1-0\r\n")));
    REQUIRE(stream->read_until(": culex live stream of live/#", kAnswerWait));
    CHECK(stream->received().find("Content-Type: text/event-stream") != std::string::npos);
    REQUIRE(wait_until([&] { return s.live.subscribers() == 1; }, std::chrono::seconds(10)));
    Message m;
    m.topic = "live/a";
    m.payload = "first";
    m.client_id = "test";
    m.seq = 7;
    m.received_us = 1700000000000000;
    s.live.offer(m);
    CHECK(stream->read_until("\"payload\":\"first\"", kAnswerWait));
    // Past the head timeout the stream still flows, and other clients are served.
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    m.payload = "second";
    m.seq = 8;
    s.live.offer(m);
    CHECK(stream->read_until("\"payload\":\"second\"", kAnswerWait));
    CHECK(stream->received().find("id: 1700000000000000-8") != std::string::npos);
    CHECK(ask(s.port, get_request("/healthz")).status == 200);
    // A client that goes away ends its stream, and with it the worker's.
    stream.reset();
    CHECK(wait_until(
        [&] {
            ++m.seq;  // a new message, which the worker writes and finds the client gone
            s.live.offer(m);
            return s.live.subscribers() == 0;
        },
        std::chrono::seconds(30)));
}

TEST_CASE("the front end's options: defaults, extremes, one-line errors", "[http]") {
    const auto parse = [](std::vector<PluginOption> options) {
        return parse_options(options, "host");
    };
    Result<Config> defaults = parse({});
    REQUIRE(defaults.is_ok());
    CHECK(defaults.value().http_request_head_timeout_ms == 10000);
    CHECK(defaults.value().http_max_connections == 1024);
    CHECK(defaults.value().http_max_connections_per_client == 32);
    CHECK(defaults.value().http_cors_origins.empty());
    Result<Config> set =
        parse({{"http_request_head_timeout_ms", "100"},
               {"http_max_connections", "1000000"},
               {"http_max_connections_per_client", "1"},
               {"http_cors_origins", " https://a.example , http://localhost:3000"}});
    REQUIRE(set.is_ok());
    CHECK(set.value().http_request_head_timeout_ms == 100);
    CHECK(set.value().http_max_connections == 1000000);
    CHECK(set.value().http_max_connections_per_client == 1);
    CHECK(set.value().http_cors_origins ==
          std::vector<std::string>{"https://a.example", "http://localhost:3000"});
    CHECK(parse({{"http_cors_origins", "*"}}).value().http_cors_origins ==
          std::vector<std::string>{"*"});
    for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
             {"http_request_head_timeout_ms", "99"},
             {"http_request_head_timeout_ms", "3600001"},
             {"http_max_connections", "0"},
             {"http_max_connections_per_client", "1000001"},
             {"http_cors_origins", "app.example"},
             {"http_cors_origins", "https://app.example/"},
             {"http_cors_origins", "https://"},
             {"http_cors_origins", "https://a.example,"},
             {"http_cors_origins", "*,https://a.example"}}) {
        INFO(key << " " << value);
        Result<Config> bad = parse({{key, value}});
        REQUIRE_FALSE(bad.is_ok());
        CHECK(bad.error().message().rfind("plugin_opt_" + key + ": ", 0) == 0);
        CHECK(bad.error().message().find('\n') == std::string::npos);
    }
}
