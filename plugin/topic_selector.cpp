#include "topic_selector.h"

#include "common/topic_filter.h"

namespace culex {

TopicSelector::TopicSelector(std::vector<std::string> store, std::vector<std::string> exclude)
    : store_(std::move(store)),
      exclude_(std::move(exclude)),
      store_everything_(store_.size() == 1 && store_[0] == "#") {}

bool TopicSelector::selects(std::string_view topic) const {
    if (topic.substr(0, 4) == "$SYS")
        return false;
    bool stored = false;
    if (store_everything_) {
        stored = topic.empty() || topic[0] != '$';
    } else {
        for (const auto& filter : store_) {
            if (topic_matches(filter, topic)) {
                stored = true;
                break;
            }
        }
    }
    if (!stored)
        return false;
    for (const auto& filter : exclude_) {
        if (topic_matches(filter, topic))
            return false;
    }
    return true;
}

}  // namespace culex
