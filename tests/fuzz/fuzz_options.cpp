// libFuzzer target: option parsing never crashes on any `plugin_opt_*` lines; each
// input line is "key value".
#include <cstdint>
#include <string>
#include <vector>

#include "plugin/options.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string input(reinterpret_cast<const char*>(data), size);
    std::vector<culex::PluginOption> options;
    size_t start = 0;
    while (start <= input.size()) {
        size_t end = input.find('\n', start);
        if (end == std::string::npos)
            end = input.size();
        std::string line = input.substr(start, end - start);
        size_t space = line.find(' ');
        options.push_back(
            {line.substr(0, space), space == std::string::npos ? "" : line.substr(space + 1)});
        start = end + 1;
    }
    culex::parse_options(options, "fuzz-host");
    return 0;
}
