#include <catch2/catch.hpp>
#include <vector>

#include "plugin/message_intake.h"

using namespace std::chrono_literals;

namespace {

// An intake with its selector, queue, counters and log.
struct IntakeUnderTest {
    IntakeUnderTest(std::vector<std::string> store, std::vector<std::string> exclude,
                    size_t capacity, culex::Config::QueueFull policy)
        : selector(std::move(store), std::move(exclude)),
          queue(capacity, 1 << 20),
          intake(selector, excluded, queue, stats, log, policy) {}
    culex::TopicSelector selector;
    culex::ClientPatterns excluded;
    culex::IngestQueue queue;
    culex::IngestStats stats;
    culex::LogQueue log;
    culex::MessageIntake intake;
};

}  // namespace

TEST_CASE("intake copies selected messages into the queue with rising sequence numbers",
          "[intake]") {
    IntakeUnderTest t({"#"}, {"private/#"}, 1000, culex::Config::QueueFull::kDeliver);
    auto& [selector, excluded, queue, stats, log, intake] = t;

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
    IntakeUnderTest t({"#"}, {}, 2, culex::Config::QueueFull::kDeliver);
    auto& [selector, excluded, queue, stats, log, intake] = t;
    culex::IncomingPublish p;
    p.topic = "t";
    for (int i = 0; i < 5; ++i)
        CHECK(intake.accept(p) ==
              (i < 2 ? culex::IntakeResult::kQueued : culex::IntakeResult::kDropped));
    CHECK(stats.queued == 2);
    CHECK(stats.dropped_queue_full == 3);
    std::vector<std::string> lines;
    log.drain([&](culex::LogLevel, const std::string& line) { lines.push_back(line); });
    REQUIRE(lines.size() == 1);  // rate-limited: one line for the burst
    CHECK(lines[0].find("ingest queue full (queue_capacity)") != std::string::npos);
}

TEST_CASE("reject_v5 refuses what the queue cannot hold only to publishers that can be told",
          "[intake]") {
    IntakeUnderTest t({"#"}, {}, 1, culex::Config::QueueFull::kRejectV5);
    auto& [selector, excluded, queue, stats, log, intake] = t;
    culex::IncomingPublish p;
    p.topic = "t";
    p.refusable = true;
    CHECK(intake.accept(p) == culex::IntakeResult::kQueued);  // room: never refused
    CHECK(intake.accept(p) == culex::IntakeResult::kRefused);
    p.refusable = false;  // MQTT 3.1.1 or QoS 0: dropped as under deliver
    CHECK(intake.accept(p) == culex::IntakeResult::kDropped);
    CHECK(stats.queued == 1);
    CHECK(stats.rejected_queue_full == 1);
    CHECK(stats.dropped_queue_full == 1);
    std::vector<std::string> lines;
    log.drain([&](culex::LogLevel, const std::string& line) { lines.push_back(line); });
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].find("1 MQTT 5 message(s) refused") != std::string::npos);
}

TEST_CASE("the observer sees only what was queued, and only while it is wanted", "[intake]") {
    IntakeUnderTest t({"#"}, {"skip/#"}, 1000, culex::Config::QueueFull::kDeliver);
    auto& [selector, excluded, queue, stats, log, intake] = t;
    bool wanted = false;
    std::vector<std::string> seen;
    intake.set_observer([&] { return wanted; },
                        [&](const culex::Message& m) { seen.push_back(m.topic); });
    culex::IncomingPublish p;
    p.topic = "unwatched";
    intake.accept(p);
    wanted = true;
    p.topic = "skip/x";
    intake.accept(p);
    p.topic = "watched";
    intake.accept(p);
    for (int i = 0; i < 1000; ++i)  // fills the queue: the last is dropped
        intake.accept(p);
    CHECK(stats.dropped_queue_full == 2);
    REQUIRE(seen.size() == 999);
    CHECK(seen.front() == "watched");
}

TEST_CASE("excluded clients are counted, not queued, and still shown to the observer", "[intake]") {
    IntakeUnderTest t({"#"}, {"skip/#"}, 1000, culex::Config::QueueFull::kDeliver);
    auto& [selector, excluded, queue, stats, log, intake] = t;
    excluded.add(culex::ClientPattern::parse("bridge-*").value());
    std::vector<culex::Message> seen;
    bool wanted = false;
    intake.set_observer([&] { return wanted; },
                        [&](const culex::Message& m) { seen.push_back(m); });
    culex::IncomingPublish p;
    p.topic = "a";
    p.payload = "from the other broker";
    p.client_id = "bridge-b";
    CHECK(intake.accept(p) == culex::IntakeResult::kExcluded);  // nobody watching
    wanted = true;
    CHECK(intake.accept(p) == culex::IntakeResult::kExcluded);
    p.topic = "skip/a";  // not selected comes first: not on the stream either
    CHECK(intake.accept(p) == culex::IntakeResult::kFiltered);
    p.topic = "a";
    p.client_id = "device-1";
    CHECK(intake.accept(p) == culex::IntakeResult::kQueued);

    std::vector<culex::Message> out;
    queue.pop_batch(out, 10, 0ms, 0ms);
    REQUIRE(out.size() == 1);
    CHECK(out[0].client_id == "device-1");
    CHECK(stats.received == 4);
    CHECK(stats.excluded == 2);
    CHECK(stats.filtered == 1);
    CHECK(stats.queued == 1);
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].client_id == "bridge-b");
    CHECK(seen[0].payload == "from the other broker");
    CHECK(seen[0].received_us > 0);
    // The stream's positions stay in arrival order across excluded and stored messages.
    CHECK(seen[1].seq > seen[0].seq);
    CHECK(seen[1].client_id == "device-1");
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
