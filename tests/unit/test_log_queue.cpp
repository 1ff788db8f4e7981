#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/log.h"

TEST_CASE("log lines drain in order and overflow is counted", "[log]") {
    culex::LogQueue log(2);
    log.printf(culex::LogLevel::kInfo, "one %d", 1);
    log.write(culex::LogLevel::kError, "two");
    log.write(culex::LogLevel::kError, "three");
    std::vector<std::string> lines;
    log.drain([&](culex::LogLevel, const std::string& line) { lines.push_back(line); });
    REQUIRE(lines.size() == 3);
    CHECK(lines[0] == "one 1");
    CHECK(lines[1] == "two");
    CHECK(lines[2] == "culex: 1 log lines dropped (log queue full)");
    lines.clear();
    log.drain([&](culex::LogLevel, const std::string& line) { lines.push_back(line); });
    CHECK(lines.empty());
}
