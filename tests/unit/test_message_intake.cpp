#include <catch2/catch.hpp>
#include <vector>

#include "plugin/message_intake.h"

using namespace std::chrono_literals;

TEST_CASE("intake copies selected messages into the queue with rising sequence numbers",
          "[intake]") {
    culex::TopicSelector selector({"#"}, {"private/#"});
    culex::IngestQueue queue(1000, 1 << 20);
    culex::IngestStats stats;
    culex::LogQueue log;
    culex::MessageIntake intake(selector, queue, stats, log);

    culex::IncomingPublish p;
    p.topic = "a/b";
    p.payload = std::string_view("x\0y", 3);
    p.client_id = "dev1";
    p.username = "alice";
    p.qos = 1;
    p.retain = true;
    intake.accept(p);
    p.topic = "private/x";
    intake.accept(p);
    p.topic = "$SYS/broker/load";
    intake.accept(p);
    p.topic = "a/c";
    p.username.reset();
    intake.accept(p);

    std::vector<culex::Message> out;
    queue.pop_batch(out, 10, 0ms, 0ms);
    REQUIRE(out.size() == 2);
    CHECK(out[0].topic == "a/b");
    CHECK(out[0].payload == std::string("x\0y", 3));
    CHECK(out[0].client_id == "dev1");
    CHECK(out[0].username.has_value());
    CHECK(out[0].username == "alice");
    CHECK(out[0].qos == 1);
    CHECK(out[0].retain);
    CHECK(out[0].received_us > 0);
    CHECK_FALSE(out[1].username.has_value());
    CHECK(out[1].seq > out[0].seq);
    CHECK(stats.received == 4);
    CHECK(stats.filtered == 2);
    CHECK(stats.queued == 2);
}

TEST_CASE("a full queue drops, counts and logs instead of blocking", "[intake]") {
    culex::TopicSelector selector({"#"}, {});
    culex::IngestQueue queue(2, 1 << 20);
    culex::IngestStats stats;
    culex::LogQueue log;
    culex::MessageIntake intake(selector, queue, stats, log);
    culex::IncomingPublish p;
    p.topic = "t";
    for (int i = 0; i < 5; ++i)
        intake.accept(p);
    CHECK(stats.queued == 2);
    CHECK(stats.dropped_queue_full == 3);
    std::vector<std::string> lines;
    log.drain([&](culex::LogLevel, const std::string& line) { lines.push_back(line); });
    REQUIRE(lines.size() == 1);  // rate-limited: one line for the burst
    CHECK(lines[0].find("ingest queue full (queue_capacity)") != std::string::npos);
}

TEST_CASE("selector applies store and exclude filters", "[intake]") {
    culex::TopicSelector selector({"sensors/#", "$app/+"}, {"sensors/debug/#"});
    CHECK(selector.selects("sensors/t1"));
    CHECK(selector.selects("sensors"));
    CHECK_FALSE(selector.selects("sensors/debug/x"));
    CHECK_FALSE(selector.selects("other"));
    CHECK(selector.selects("$app/x"));
    culex::TopicSelector everything({"#"}, {});
    CHECK(everything.selects("a"));
    CHECK_FALSE(everything.selects("$SYS/x"));
    CHECK_FALSE(everything.selects("$other/x"));
    culex::TopicSelector sys({"$SYS/#"}, {});
    CHECK_FALSE(sys.selects("$SYS/x"));  // never stored, even when asked
}
