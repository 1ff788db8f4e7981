#include <catch2/catch.hpp>

#include <limits>

#include "storage/partitions.h"

using culex::Leaf;
using culex::leaf_holding;

TEST_CASE("leaf_holding finds the one partition holding a whole range", "[partitions]") {
    constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
    // A migrated table's first partition (from the beginning), then two days, a gap, one.
    const std::vector<Leaf> leaves = {
        {kMin, 100, "before"}, {100, 200, "d1"}, {200, 300, "d2"}, {400, 500, "d4"}};
    const auto holder = [&](int64_t from, int64_t until) -> std::string {
        const Leaf* leaf = leaf_holding(leaves, from, until);
        return leaf == nullptr ? "none" : leaf->table;
    };
    CHECK(holder(kMin, kMin + 1) == "before");
    CHECK(holder(99, 100) == "before");
    CHECK(holder(100, 101) == "d1");  // a lower bound is inclusive
    CHECK(holder(199, 200) == "d1");  // an upper bound is exclusive
    CHECK(holder(100, 200) == "d1");
    CHECK(holder(100, 201) == "none");  // spans two partitions
    CHECK(holder(299, 300) == "d2");
    CHECK(holder(300, 301) == "none");  // in the gap
    CHECK(holder(399, 400) == "none");
    CHECK(holder(400, 500) == "d4");
    CHECK(holder(500, 501) == "none");  // past the last
    CHECK(leaf_holding({}, 0, 1) == nullptr);
    const std::vector<Leaf> later = {{100, 200, "d1"}};
    CHECK(leaf_holding(later, 99, 100) == nullptr);  // before the first
}
