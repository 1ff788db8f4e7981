// libFuzzer target: an input "pattern\nid" — parsing never crashes, a parsed pattern
// matches the id exactly when the textbook dynamic-programming glob match says so, and
// every pattern matches its own text with each star read as nothing.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/client_pattern.h"

namespace {

// reach[j]: the pattern read so far matches the first j bytes of the id.
bool reference(std::string_view pattern, std::string_view id) {
    std::vector<char> reach(id.size() + 1, 0);
    reach[0] = 1;
    for (char p : pattern) {
        std::vector<char> next(id.size() + 1, 0);
        for (size_t j = 0; j <= id.size(); ++j) {
            if (p == '*')
                next[j] = reach[j] || (j > 0 && next[j - 1]);
            else
                next[j] = j > 0 && reach[j - 1] && id[j - 1] == p;
        }
        reach.swap(next);
    }
    return reach[id.size()] != 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    const size_t newline = input.find('\n');
    std::string_view text = input.substr(0, newline);
    std::string_view id = newline == std::string_view::npos ? "" : input.substr(newline + 1);
    culex::Result<culex::ClientPattern> pattern = culex::ClientPattern::parse(text);
    if (!pattern.is_ok())
        return 0;
    if (pattern.value().matches(id) != reference(text, id))
        std::abort();
    std::string plain;
    for (char c : text) {
        if (c != '*')
            plain += c;
    }
    if (!pattern.value().matches(plain))
        std::abort();
    return 0;
}
