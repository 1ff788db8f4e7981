#include <catch2/catch.hpp>
#include <chrono>
#include <thread>
#include <vector>

#include "storage/ingest_queue.h"

using namespace std::chrono_literals;
using culex::IngestQueue;
using culex::Message;

namespace {
Message make(uint64_t seq, size_t payload = 10) {
    Message m;
    m.topic = std::string(1, 't');
    m.payload = std::string(payload, 'x');
    m.seq = seq;
    return m;
}
}  // namespace

TEST_CASE("queue preserves order and pops at most max_rows", "[queue]") {
    IngestQueue q(100, 1 << 20);
    for (uint64_t i = 1; i <= 10; ++i)
        REQUIRE(q.try_push(make(i)) == IngestQueue::PushResult::kQueued);
    std::vector<Message> out;
    CHECK(q.pop_batch(out, 4, 0ms, 0ms) == 4);
    CHECK(q.pop_batch(out, 100, 0ms, 0ms) == 6);
    REQUIRE(out.size() == 10);
    for (uint64_t i = 0; i < 10; ++i)
        CHECK(out[i].seq == i + 1);
    CHECK(q.size() == 0);
    CHECK(q.bytes() == 0);
}

TEST_CASE("queue refuses at its message bound and at its byte bound", "[queue]") {
    IngestQueue by_count(3, 1 << 20);
    for (uint64_t i = 0; i < 3; ++i)
        REQUIRE(by_count.try_push(make(i)) == IngestQueue::PushResult::kQueued);
    Message extra = make(9);
    CHECK(by_count.try_push(std::move(extra)) == IngestQueue::PushResult::kFullMessages);
    CHECK(extra.payload.size() == 10);  // refused messages are left intact

    IngestQueue by_bytes(1000, 2000);
    CHECK(by_bytes.try_push(make(1, 1500)) == IngestQueue::PushResult::kQueued);
    CHECK(by_bytes.try_push(make(2, 1500)) == IngestQueue::PushResult::kFullBytes);
    // One message larger than the whole bound still fits into an empty queue.
    IngestQueue tiny(10, 100);
    CHECK(tiny.try_push(make(1, 5000)) == IngestQueue::PushResult::kQueued);
}

TEST_CASE("a waiting consumer wakes when the first message arrives", "[queue]") {
    IngestQueue q(100, 1 << 20);
    std::vector<Message> out;
    std::thread consumer([&] { q.pop_batch(out, 10, 0ms, std::chrono::hours(1)); });
    REQUIRE(q.try_push(make(1)) == IngestQueue::PushResult::kQueued);
    consumer.join();  // hangs (ctest timeout) if the push did not wake it
    CHECK(out.size() == 1);
}

TEST_CASE("a lingering consumer wakes when the batch is full", "[queue]") {
    IngestQueue q(100, 1 << 20);
    REQUIRE(q.try_push(make(1)) == IngestQueue::PushResult::kQueued);
    std::vector<Message> out;
    std::thread consumer([&] { q.pop_batch(out, 3, std::chrono::hours(1), 0ms); });
    REQUIRE(q.try_push(make(2)) == IngestQueue::PushResult::kQueued);
    REQUIRE(q.try_push(make(3)) == IngestQueue::PushResult::kQueued);
    consumer.join();
    CHECK(out.size() == 3);
}

TEST_CASE("a consumer waiting for a backlog wakes at the message or the byte threshold",
          "[queue]") {
    const auto forever = std::chrono::steady_clock::now() + std::chrono::hours(1);
    IngestQueue by_count(100, 1 << 20);
    IngestQueue::WaitResult result = IngestQueue::WaitResult::kTimedOut;
    std::thread consumer([&] { result = by_count.wait_for_backlog(3, 1 << 20, forever); });
    for (uint64_t i = 1; i <= 3; ++i)
        REQUIRE(by_count.try_push(make(i)) == IngestQueue::PushResult::kQueued);
    consumer.join();  // hangs (ctest timeout) if the third push did not wake it
    CHECK(result == IngestQueue::WaitResult::kReached);

    IngestQueue by_bytes(100, 1 << 20);
    const size_t one = make(1, 1000).footprint();
    std::thread bytes_consumer([&] { result = by_bytes.wait_for_backlog(100, 2 * one, forever); });
    REQUIRE(by_bytes.try_push(make(1, 1000)) == IngestQueue::PushResult::kQueued);
    REQUIRE(by_bytes.try_push(make(2, 1000)) == IngestQueue::PushResult::kQueued);
    bytes_consumer.join();
    CHECK(result == IngestQueue::WaitResult::kReached);

    IngestQueue idle(100, 1 << 20);
    CHECK(idle.wait_for_backlog(1, 1, std::chrono::steady_clock::now() + 10ms) ==
          IngestQueue::WaitResult::kTimedOut);
    std::thread closing([&] { result = idle.wait_for_backlog(1, 1, forever); });
    idle.close();
    closing.join();
    CHECK(result == IngestQueue::WaitResult::kClosed);
    // Closed stays closed, even with the threshold reached.
    CHECK(by_count.wait_for_backlog(1, 1, forever) == IngestQueue::WaitResult::kReached);
    by_count.close();
    CHECK(by_count.wait_for_backlog(1, 1, forever) == IngestQueue::WaitResult::kClosed);
}

TEST_CASE("close wakes the consumer and refuses new messages", "[queue]") {
    IngestQueue q(100, 1 << 20);
    std::vector<Message> out;
    std::thread consumer([&] { q.pop_batch(out, 10, 0ms, std::chrono::hours(1)); });
    q.close();
    consumer.join();
    CHECK(out.empty());
    CHECK(q.try_push(make(1)) == IngestQueue::PushResult::kClosed);
}

TEST_CASE("unpop puts a popped batch back in front, in order", "[queue]") {
    IngestQueue q(100, 1 << 20);
    for (uint64_t i = 1; i <= 5; ++i)
        REQUIRE(q.try_push(make(i)) == IngestQueue::PushResult::kQueued);
    std::vector<Message> first;
    REQUIRE(q.pop_batch(first, 3, 0ms, 0ms) == 3);
    size_t bytes_before = q.bytes();
    q.unpop(std::move(first));
    CHECK(q.size() == 5);
    CHECK(q.bytes() > bytes_before);
    std::vector<Message> all;
    REQUIRE(q.pop_batch(all, 10, 0ms, 0ms) == 5);
    for (uint64_t i = 0; i < 5; ++i)
        CHECK(all[i].seq == i + 1);
}
