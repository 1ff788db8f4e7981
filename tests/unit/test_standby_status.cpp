#include <catch2/catch.hpp>

#include "storage/standby_status.h"

using culex::judge_standby;
using culex::StandbyStatus;
using culex::StandbyVerdict;

namespace {
StandbyStatus streaming(std::optional<int64_t> lag_ms) {
    StandbyStatus s;
    s.in_recovery = true;
    s.receiver = "streaming";
    s.lag_ms = lag_ms;
    return s;
}
}  // namespace

TEST_CASE("a streaming standby within the lag is fit, up to the limit itself", "[standby]") {
    CHECK(judge_standby(streaming(0), 0).verdict == StandbyVerdict::kFit);
    CHECK(judge_standby(streaming(5000), 5000).verdict == StandbyVerdict::kFit);
    CHECK(judge_standby(streaming(5000), 5000).why.empty());
    // This role may not see the receiver's state; the lag still decides.
    StandbyStatus hidden = streaming(10);
    hidden.receiver = "";
    CHECK(judge_standby(hidden, 5000).verdict == StandbyVerdict::kFit);
}

TEST_CASE("past the lag, or with its lag unknown, a standby is lagging", "[standby]") {
    auto late = judge_standby(streaming(5001), 5000);
    CHECK(late.verdict == StandbyVerdict::kLagging);
    CHECK(late.why == "lags 5001 ms (read_max_lag_ms 5000)");
    CHECK(judge_standby(streaming(1), 0).verdict == StandbyVerdict::kLagging);
    CHECK(judge_standby(streaming(std::nullopt), 3600000).verdict == StandbyVerdict::kLagging);
}

TEST_CASE("a server that is not a streaming standby is unfit whatever its lag", "[standby]") {
    StandbyStatus primary = streaming(0);
    primary.in_recovery = false;
    CHECK(judge_standby(primary, 3600000).verdict == StandbyVerdict::kUnfit);
    CHECK(judge_standby(primary, 3600000).why == "is not in recovery (a primary, or promoted)");
    StandbyStatus no_receiver = streaming(0);
    no_receiver.receiver.reset();
    CHECK(judge_standby(no_receiver, 3600000).verdict == StandbyVerdict::kUnfit);
    StandbyStatus waiting = streaming(0);
    waiting.receiver = "waiting";
    auto judged = judge_standby(waiting, 3600000);
    CHECK(judged.verdict == StandbyVerdict::kUnfit);
    CHECK(judged.why == "has a WAL receiver that is waiting");
}
