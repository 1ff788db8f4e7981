#include <catch2/catch.hpp>

#include "storage/backoff.h"

using namespace std::chrono_literals;

TEST_CASE("backoff doubles up to its ceiling, with at most 20% jitter", "[backoff]") {
    culex::Backoff backoff(100ms, 1000ms);
    std::chrono::milliseconds expected[] = {100ms, 200ms, 400ms, 800ms, 1000ms, 1000ms};
    for (auto base : expected) {
        auto d = backoff.next();
        CHECK(d <= base);
        CHECK(d >= base - base / 5);
    }
    backoff.reset();
    CHECK(backoff.next() <= 100ms);
}
