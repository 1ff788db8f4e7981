// A fleet of 1,000 MQTT clients publishes while apps query the HTTP API: every message
// is stored exactly once, in order per client, and every HTTP request succeeds.
#include <mosquitto.h>
#include <poll.h>
#include <sys/resource.h>
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdio>
#include <thread>
#include <vector>

#include "support/fixture.h"
#include "support/http_client.h"

using namespace culex::test;

namespace {

constexpr int kDevices = 1000;
constexpr int kRounds = 20;
constexpr const char* kToken = "fleet-admin-token-0123456789";

// Many libmosquitto clients driven from one thread (a thread each would be 1,000).
class Fleet {
  public:
    Fleet(int port, int count) : acked_(static_cast<size_t>(count)) {
        mosquitto_lib_init();
        for (int i = 0; i < count; ++i) {
            const std::string id = "fleet-" + std::to_string(i);
            mosquitto* m = mosquitto_new(id.c_str(), true, &acked_[static_cast<size_t>(i)]);
            REQUIRE(m != nullptr);
            mosquitto_max_inflight_messages_set(m, 0);
            mosquitto_publish_callback_set(
                m, [](mosquitto*, void* counter, int) { ++*static_cast<int*>(counter); });
            REQUIRE(mosquitto_connect(m, "127.0.0.1", port, 60) == MOSQ_ERR_SUCCESS);
            clients_.push_back(m);
        }
    }
    ~Fleet() {
        for (mosquitto* m : clients_)
            mosquitto_destroy(m);
        mosquitto_lib_cleanup();
    }

    // Each client publishes `round` once, QoS 1, on its own topic.
    void publish(int round) {
        for (size_t i = 0; i < clients_.size(); ++i) {
            const std::string topic = "fleet/" + std::to_string(i);
            const std::string payload = std::to_string(round);
            REQUIRE(mosquitto_publish(clients_[i], nullptr, topic.c_str(),
                                      static_cast<int>(payload.size()), payload.data(), 1,
                                      false) == MOSQ_ERR_SUCCESS);
        }
        pump();
    }

    // One pass of network I/O over every client. poll, not mosquitto_loop: its select()
    // cannot watch descriptors past 1023, and a thousand clients go past that.
    void pump() {
        std::vector<pollfd> fds;
        fds.reserve(clients_.size());
        for (mosquitto* m : clients_) {
            const short events =
                static_cast<short>(POLLIN | (mosquitto_want_write(m) ? POLLOUT : 0));
            fds.push_back({mosquitto_socket(m), events, 0});
        }
        poll(fds.data(), fds.size(), 10);
        for (size_t i = 0; i < clients_.size(); ++i) {
            if ((fds[i].revents & POLLIN) != 0)
                mosquitto_loop_read(clients_[i], 1);
            if ((fds[i].revents & POLLOUT) != 0)
                mosquitto_loop_write(clients_[i], 1);
            mosquitto_loop_misc(clients_[i]);
        }
    }

    long acked() const {
        long total = 0;
        for (int a : acked_)
            total += a;
        return total;
    }

  private:
    std::vector<int> acked_;
    std::vector<mosquitto*> clients_;
};

}  // namespace

TEST_CASE("1,000 publishing clients and concurrent HTTP queries: nothing lost, no error",
          "[load]") {
    // The broker inherits this process's limit and needs a descriptor per client.
    rlimit files{};
    REQUIRE(getrlimit(RLIMIT_NOFILE, &files) == 0);
    REQUIRE(files.rlim_max >= 4096);
    files.rlim_cur = files.rlim_max;
    REQUIRE(setrlimit(RLIMIT_NOFILE, &files) == 0);

    const std::string dbname = cluster().create_database();
    const int http_port = free_port();
    BrokerProcess broker(plugin_opts_for(
        dbname,
        {{"http_listen", "127.0.0.1:" + std::to_string(http_port)}, {"admin_token", kToken}}));
    REQUIRE(broker.wait_ready());
    const std::string base = "http://127.0.0.1:" + std::to_string(http_port);
    {
        HttpClient probe(base);
        REQUIRE(wait_until([&] { return probe.get("/readyz").status == 200; },
                           std::chrono::seconds(30)));
    }

    Fleet fleet(broker.port(), kDevices);
    std::atomic<bool> done{false};
    std::atomic<long> http_ok{0};
    std::atomic<long> http_failed{0};
    std::vector<std::thread> apps;
    for (int a = 0; a < 4; ++a) {
        apps.emplace_back([&, a] {
            HttpClient http(base, kToken);
            const std::vector<std::string> queries = {
                "/api/v1/messages?filter=fleet%2F%23&limit=100",
                "/api/v1/messages?topic=fleet%2F" + std::to_string(a * 7) + "&order=asc",
                "/api/v1/topics?filter=fleet%2F%23&limit=50",
                "/api/v1/messages/aggregate?filter=fleet%2F%2B&bucket=1m",
            };
            for (size_t i = 0; !done; ++i) {
                HttpReply r = http.get(queries[i % queries.size()]);
                (r.status == 200 ? http_ok : http_failed)++;
                if (r.status != 200 && http_failed < 5)
                    std::fprintf(stderr, "HTTP %ld on %s: %s\n", r.status,
                                 queries[i % queries.size()].c_str(), r.body.c_str());
            }
        });
    }
    for (int round = 0; round < kRounds; ++round)
        fleet.publish(round);
    const bool all_acked = wait_until(
        [&] {
            fleet.pump();
            return fleet.acked() == long{kDevices} * kRounds;
        },
        std::chrono::seconds(120));
    auto db = cluster().connect(dbname);
    const bool all_stored = wait_stored(*db, long{kDevices} * kRounds, std::chrono::seconds(120));
    done = true;
    for (std::thread& t : apps)
        t.join();

    INFO("acknowledged " << fleet.acked());
    CHECK(all_acked);
    REQUIRE(all_stored);
    CHECK(stored_count(*db) == long{kDevices} * kRounds);
    CHECK(query_value(*db, "SELECT count(DISTINCT (client_id, payload)) FROM culex.messages") ==
          std::to_string(kDevices * kRounds));
    // Per client, rounds are stored in the order they were published.
    CHECK(query_value(*db,
                      "SELECT count(*) FROM (SELECT client_id, convert_from(payload, 'UTF8')::int"
                      " AS round, lag(convert_from(payload, 'UTF8')::int) OVER (PARTITION BY"
                      " client_id ORDER BY id) AS previous FROM culex.messages) s"
                      " WHERE previous IS NOT NULL AND round <> previous + 1") == "0");
    CHECK(http_failed == 0);
    CHECK(http_ok > 20);
    INFO(broker.log());
    CHECK(broker.log().find("not stored") == std::string::npos);
}
