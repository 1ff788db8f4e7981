// Parses the plugin's `plugin_opt_*` lines into a Config.
//
// Every option is checked at broker start; the first bad one yields a one-line error
// that names it (`plugin_opt_batch_max_rows: ...`), and the broker refuses to start.
// Called once on the broker thread; reads admin_token_file, nothing else outside.
#pragma once

#include <string>
#include <vector>

#include "common/config.h"
#include "common/status.h"

namespace culex {

struct PluginOption {
    std::string key;    // without the `plugin_opt_` prefix
    std::string value;  // the rest of the line
};

// `default_broker_id` is used when broker_id is not given (the host name).
Result<Config> parse_options(const std::vector<PluginOption>& options,
                             const std::string& default_broker_id);

}  // namespace culex
