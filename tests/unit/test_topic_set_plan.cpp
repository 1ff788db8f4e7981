// The choice between reading a filter's topics one by one and along the time index.
#include <catch2/catch.hpp>

#include "storage/topic_set_plan.h"

using namespace culex;

TEST_CASE("choosing per topic or along time by how many topics a filter matches", "[filter]") {
    CHECK(choose_per_topic(3, 1000));
    CHECK(choose_per_topic(31, 1000));
    CHECK_FALSE(choose_per_topic(32, 1000));
    CHECK_FALSE(choose_per_topic(0, 1000));
    CHECK(choose_per_topic(kMaxPerTopic, 1e9));
    CHECK_FALSE(choose_per_topic(kMaxPerTopic + 1, 1e9));
}
