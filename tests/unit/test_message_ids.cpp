// The hour a record id is built from (storage/message_ids.h) at the edges of hours and
// of the epoch.
#include <catch2/catch.hpp>

#include "storage/message_ids.h"

using culex::message_id_hour;

TEST_CASE("message ids count whole hours from the epoch, rounding down", "[ids]") {
    constexpr int64_t kHour = int64_t{3600} * 1000000;
    CHECK(message_id_hour(0) == 0);
    CHECK(message_id_hour(kHour - 1) == 0);
    CHECK(message_id_hour(kHour) == 1);
    CHECK(message_id_hour(culex::kFirstRecordHourUs) == 1);
    CHECK(message_id_hour(-1) == -1);
    CHECK(message_id_hour(-kHour) == -1);
    CHECK(message_id_hour(-kHour - 1) == -2);
    // 2026-12-02T13:00:00Z and the last microsecond before it.
    CHECK(message_id_hour(1796216400000000) == 498949);
    CHECK(message_id_hour(1796216399999999) == 498948);
    // Ids stay below 2^53 (exact in JavaScript) until hour 2^20, in 2089.
    CHECK(((int64_t{1} << 20) - 1) << culex::kMessageIdHourBits < (int64_t{1} << 53));
}
