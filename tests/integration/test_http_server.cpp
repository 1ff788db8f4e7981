// The HTTP server, API and TLS front end in the test process (no broker), so that the
// sanitizer pass covers them: real PostgreSQL, real sockets, concurrent clients, and
// hostile bytes on the wire.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <catch2/catch.hpp>

#include <thread>
#include <vector>

#include "http/routes/api.h"
#include "http/server/server.h"
#include "support/fixture.h"
#include "support/http_client.h"

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
              config, pool, auth, log, nullptr, {}, nullptr, nullptr, nullptr, nullptr, {}, {}}),
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
    for (int i = 0; i < 8; ++i) {  // more connections than threads: the extra are refused
        clients.emplace_back([&] {
            HttpClient c("https://127.0.0.1:" + std::to_string(s.port), kToken);
            c.set_ca_file(dir + "/cert.pem");
            c.get("/healthz");
        });
    }
    for (std::thread& t : clients)
        t.join();
    CHECK(
        wait_until([&] { return https.get("/healthz").status == 200; }, std::chrono::seconds(30)));
    s.server->stop();
    remove_tree(dir);
}
