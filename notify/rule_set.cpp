#include "rule_set.h"

#include <algorithm>

namespace culex {
namespace {

std::vector<std::string_view> split_levels(std::string_view s) {
    std::vector<std::string_view> levels;
    size_t start = 0;
    while (true) {
        const size_t end = s.find('/', start);
        levels.push_back(
            s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
        if (end == std::string_view::npos)
            return levels;
        start = end + 1;
    }
}

}  // namespace

RuleSet::RuleSet(std::vector<Rule> rules) : rules_(std::move(rules)) {
    std::sort(rules_.begin(), rules_.end(),
              [](const Rule& a, const Rule& b) { return a.id < b.id; });
    for (size_t i = 0; i < rules_.size(); ++i) {
        Node* node = &root_;
        for (std::string_view level : split_levels(rules_[i].topic_filter)) {
            if (level == "#") {
                node->hash.push_back(i);
                node = nullptr;
                break;
            }
            std::unique_ptr<Node>& next =
                level == "+" ? node->plus : node->children[std::string(level)];
            if (!next)
                next = std::make_unique<Node>();
            node = next.get();
        }
        if (node != nullptr)
            node->here.push_back(i);
    }
}

void RuleSet::collect(const Node& node, const std::vector<std::string_view>& levels, size_t depth,
                      std::vector<size_t>& out) const {
    // `a/#` matches `a` too; wildcards in the first level never match `$` topics.
    const bool dollar = depth == 0 && !levels[0].empty() && levels[0].front() == '$';
    if (!dollar)
        out.insert(out.end(), node.hash.begin(), node.hash.end());
    if (depth == levels.size()) {
        out.insert(out.end(), node.here.begin(), node.here.end());
        return;
    }
    auto it = node.children.find(std::string(levels[depth]));
    if (it != node.children.end())
        collect(*it->second, levels, depth + 1, out);
    if (node.plus && !dollar)
        collect(*node.plus, levels, depth + 1, out);
}

std::vector<const Rule*> RuleSet::match(std::string_view topic, std::string_view payload) const {
    std::vector<const Rule*> matched;
    if (rules_.empty())
        return matched;
    std::vector<size_t> candidates;
    collect(root_, split_levels(topic), 0, candidates);
    if (candidates.empty())
        return matched;
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
    ParsedPayload parsed(payload);
    for (size_t i : candidates) {
        const Rule& rule = rules_[i];
        if (rule.topic_like && !like_matches(*rule.topic_like, topic))
            continue;
        if (rule.condition.empty() || rule.condition.matches(parsed))
            matched.push_back(&rules_[i]);
    }
    return matched;
}

}  // namespace culex
