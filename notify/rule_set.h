// The enabled rules indexed by topic filter, for matching thousands of rules against
// every stored message: a tree of topic levels (exact names, `+`, `#`), so a message
// costs a walk over its topic's levels, not one comparison per rule.
// Immutable once built; match() is safe from any thread.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "rule.h"

namespace culex {

class RuleSet {
  public:
    explicit RuleSet(std::vector<Rule> rules);

    bool empty() const { return rules_.empty(); }
    size_t size() const { return rules_.size(); }

    // The rules whose filter matches `topic` and whose condition the payload meets, in
    // rule id order.
    std::vector<const Rule*> match(std::string_view topic, std::string_view payload) const;

  private:
    struct Node {
        std::unordered_map<std::string, std::unique_ptr<Node>> children;
        std::unique_ptr<Node> plus;
        std::vector<size_t> here;  // filters ending at this level
        std::vector<size_t> hash;  // filters with `#` as the next level
    };
    void collect(const Node& node, const std::vector<std::string_view>& levels, size_t depth,
                 std::vector<size_t>& out) const;

    std::vector<Rule> rules_;
    Node root_;
};

}  // namespace culex
