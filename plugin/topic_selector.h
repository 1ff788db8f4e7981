// Decides which topics are stored: those matching a store_topics filter and no
// exclude_topics filter. `$SYS` topics are never stored. Immutable after construction,
// so any thread may call selects().
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace culex {

class TopicSelector {
  public:
    // Filters must be valid (plugin/options.cpp validates them).
    TopicSelector(std::vector<std::string> store, std::vector<std::string> exclude);

    bool selects(std::string_view topic) const;

  private:
    std::vector<std::string> store_;
    std::vector<std::string> exclude_;
    bool store_everything_;  // store is just "#": skip matching on the hot path
};

}  // namespace culex
