#include "json_check.h"

#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include <cstdlib>
#include <cstring>

namespace culex {
namespace {

// Longest number token accepted; PostgreSQL's numeric takes far more digits, but
// no sensor reading needs more and it bounds the exponent check below.
constexpr size_t kMaxNumberLength = 400;

class JsonbCompatibility
    : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, JsonbCompatibility> {
  public:
    bool Default() { return true; }
    bool String(const char* s, rapidjson::SizeType len, bool /*copy*/) {
        // A decoded NUL comes from a \u0000 escape, which jsonb refuses.
        return std::memchr(s, '\0', len) == nullptr;
    }
    bool Key(const char* s, rapidjson::SizeType len, bool copy) { return String(s, len, copy); }
    bool RawNumber(const char* s, rapidjson::SizeType len, bool /*copy*/) {
        if (len > kMaxNumberLength)
            return false;
        const char* e = static_cast<const char*>(std::memchr(s, 'e', len));
        if (e == nullptr)
            e = static_cast<const char*>(std::memchr(s, 'E', len));
        // numeric holds decimal exponents up to about ±131072; stay well inside.
        return e == nullptr || std::labs(std::strtol(e + 1, nullptr, 10)) <= 10000;
    }
    bool StartObject() { return ++depth_ <= kMaxStoredJsonDepth; }
    bool EndObject(rapidjson::SizeType /*members*/) {
        --depth_;
        return true;
    }
    bool StartArray() { return ++depth_ <= kMaxStoredJsonDepth; }
    bool EndArray(rapidjson::SizeType /*elements*/) {
        --depth_;
        return true;
    }

  private:
    int depth_ = 0;
};

}  // namespace

bool is_storable_json(std::string_view payload) {
    // RapidJSON reads a NUL byte as the end of input, so `{}\0junk` would pass.
    if (payload.empty() || std::memchr(payload.data(), '\0', payload.size()) != nullptr) {
        return false;
    }
    rapidjson::MemoryStream stream(payload.data(), payload.size());
    rapidjson::Reader reader;
    JsonbCompatibility handler;
    constexpr unsigned kFlags = rapidjson::kParseValidateEncodingFlag |
                                rapidjson::kParseIterativeFlag |
                                rapidjson::kParseNumbersAsStringsFlag;
    return !reader.Parse<kFlags>(stream, handler).IsError();
}

}  // namespace culex
