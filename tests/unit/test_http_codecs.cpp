#include <catch2/catch.hpp>
#include <string>

#include "common/base64.h"
#include "common/time_text.h"
#include "http/codecs/cursor.h"
#include "http/codecs/query_params.h"

using namespace culex;

TEST_CASE("base64 round-trips every byte and refuses non-canonical text", "[http]") {
    std::string all;
    for (int i = 0; i < 256; ++i)
        all += static_cast<char>(i);
    for (size_t n = 0; n <= 5; ++n) {
        const std::string bytes = all.substr(100, n);
        CHECK(base64_decode(base64_encode(bytes)) == bytes);
        CHECK(base64url_decode(base64url_encode(bytes)) == bytes);
    }
    CHECK(base64_decode(base64_encode(all)) == all);
    CHECK(base64_encode(std::string("\x00\xff", 2)) == "AP8=");
    CHECK(base64url_encode("\xfb\xff") == "-_8");
    CHECK(base64_decode("AP8=") == std::string("\x00\xff", 2));
    CHECK_FALSE(base64_decode("AP8"));       // missing padding
    CHECK_FALSE(base64_decode("AP9="));      // non-zero unused bits
    CHECK_FALSE(base64_decode("A==="));      // too much padding
    CHECK_FALSE(base64_decode("AP8=AP8="));  // padding in the middle
    CHECK_FALSE(base64_decode("AP 8"));
    CHECK_FALSE(base64url_decode("AP8="));  // url form has no padding
    CHECK_FALSE(base64url_decode("A"));
}

TEST_CASE("durations format with the largest unit that divides them", "[http]") {
    CHECK(format_duration(86400) == "1d");
    CHECK(format_duration(int64_t{36500} * 86400) == "36500d");
    CHECK(format_duration(90000) == "25h");
    CHECK(format_duration(5400) == "90m");
    CHECK(format_duration(90) == "90s");
    CHECK(format_duration(1) == "1s");
    CHECK(format_duration(0) == "0s");
}

TEST_CASE("RFC 3339 times parse and format with microseconds", "[http]") {
    CHECK(format_rfc3339_us(0) == "1970-01-01T00:00:00.000000Z");
    CHECK(format_rfc3339_us(1795668805253155) == "2026-11-26T04:53:25.253155Z");
    CHECK(parse_time_us("2026-11-26T04:53:25.253155Z") == 1795668805253155);
    CHECK(parse_time_us("2026-11-26T05:53:25.253155+01:00") == 1795668805253155);
    CHECK(parse_time_us("2026-11-26t04:53:25z") == 1795668805000000);
    CHECK(parse_time_us("2026-11-26T04:53:25.5Z") == 1795668805500000);
    CHECK(parse_time_us("1795668805253") == 1795668805253000);
    CHECK(parse_time_us("2024-02-29T00:00:00Z").has_value());
    for (const char* bad :
         {"", "2026-11-26", "2026-11-26T04:53:25", "2026-13-01T00:00:00Z", "2023-02-29T00:00:00Z",
          "2026-11-26T24:00:00Z", "2026-11-26T04:53:25.1234567Z", "2026-11-26T04:53:25.Z",
          "2026-11-26T04:53:25Z ", "1969-12-31T23:59:59Z", "-5", "1e3", "99999999999999999999"}) {
        INFO(bad);
        CHECK_FALSE(parse_time_us(bad));
    }
    for (int64_t us : {int64_t{0}, int64_t{951782400123456}, int64_t{1795668805253155}}) {
        CHECK(parse_time_us(format_rfc3339_us(us)) == us);
    }
}

TEST_CASE("percent decoding is strict", "[http]") {
    CHECK(percent_decode("a%2Fb+c", true) == "a/b c");
    CHECK(percent_decode("a%2fb+c", false) == "a/b+c");
    CHECK(percent_decode("%00", false) == std::string(1, '\0'));
    CHECK_FALSE(percent_decode("%", false));
    CHECK_FALSE(percent_decode("%2", false));
    CHECK_FALSE(percent_decode("%zz", false));
}

TEST_CASE("query parameters: unknown, repeated and malformed ones are errors", "[http]") {
    Result<ParamReader> ok = ParamReader::parse("topic=a%2Fb&limit=5&where=x>1&where=y<2");
    REQUIRE(ok.is_ok());
    ParamReader& p = ok.value();
    CHECK(p.text("topic") == "a/b");
    CHECK(p.integer("limit", 1, 10) == 5);
    CHECK(p.list("where").size() == 2);
    CHECK(p.finish().is_ok());

    Result<ParamReader> unknown = ParamReader::parse("topic=a&extra=1");
    REQUIRE(unknown.is_ok());
    unknown.value().text("topic");
    CHECK(unknown.value().finish().message() == "unknown parameter 'extra'");

    Result<ParamReader> twice = ParamReader::parse("topic=a&topic=b");
    REQUIRE(twice.is_ok());
    CHECK_FALSE(twice.value().text("topic"));
    CHECK(twice.value().finish().message() == "parameter 'topic' is given more than once");

    Result<ParamReader> range = ParamReader::parse("limit=0");
    REQUIRE(range.is_ok());
    CHECK_FALSE(range.value().integer("limit", 1, 1000));
    CHECK_FALSE(range.value().finish().is_ok());

    CHECK_FALSE(ParamReader::parse("topic=%zz").is_ok());
    CHECK_FALSE(ParamReader::parse("topic=%ff").is_ok());
    CHECK_FALSE(ParamReader::parse("topic=a%00b").is_ok());
    CHECK_FALSE(ParamReader::parse("=x").is_ok());
    CHECK(ParamReader::parse("").is_ok());
    CHECK(ParamReader::parse("&&").value().finish().is_ok());
}

TEST_CASE("cursors decode only what encoding produced", "[http]") {
    const SeriesCursor c{1795668805253155, 42};
    const std::string text = encode_series_cursor(c);
    std::optional<SeriesCursor> back = decode_series_cursor(text);
    REQUIRE(back);
    CHECK(back->received_us == c.received_us);
    CHECK(back->id == c.id);
    CHECK_FALSE(decode_series_cursor(""));
    CHECK_FALSE(decode_series_cursor("abc"));
    CHECK_FALSE(decode_series_cursor(base64url_encode("s1.0")));
    CHECK_FALSE(decode_series_cursor(base64url_encode("s01.5")));
    CHECK_FALSE(decode_series_cursor(base64url_encode("s1.5x")));
    CHECK_FALSE(decode_series_cursor(base64url_encode("n1.5")));
    CHECK_FALSE(decode_series_cursor(encode_name_cursor("a/b")));
    CHECK(decode_name_cursor(encode_name_cursor("a/b")) == "a/b");
    CHECK_FALSE(decode_name_cursor(base64url_encode("na/#")));
    CHECK_FALSE(decode_name_cursor(text));
}
