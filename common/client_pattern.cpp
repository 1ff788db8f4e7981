#include "client_pattern.h"

namespace culex {

Result<ClientPattern> ClientPattern::parse(std::string_view text) {
    if (text.empty() || text.size() > kMaxLength)
        return Status::error("expected a pattern of 1 to " + std::to_string(kMaxLength) +
                             " characters");
    for (unsigned char c : text) {
        if (c < ' ' || c == 0x7f)
            return Status::error("control characters are not allowed in a pattern");
    }
    ClientPattern p;
    p.text_ = std::string(text);
    size_t start = 0;
    for (;;) {
        const size_t star = text.find('*', start);
        p.pieces_.emplace_back(text.substr(start, star - start));
        if (star == std::string_view::npos)
            break;
        start = star + 1;
        // `**` is `*`: an empty piece between two stars would match nothing new.
        while (start < text.size() && text[start] == '*')
            ++start;
    }
    return p;
}

bool ClientPattern::matches(std::string_view id) const {
    if (pieces_.size() == 1)
        return id == pieces_.front();
    const std::string& first = pieces_.front();
    const std::string& last = pieces_.back();
    if (id.size() < first.size() + last.size() || !id.starts_with(first) || !id.ends_with(last))
        return false;
    // Between the anchored ends, taking each middle piece at its leftmost place leaves
    // the most room for the rest, so a first-fit search never misses a match.
    std::string_view middle = id.substr(first.size(), id.size() - first.size() - last.size());
    for (size_t i = 1; i + 1 < pieces_.size(); ++i) {
        const size_t at = middle.find(pieces_[i]);
        if (at == std::string_view::npos)
            return false;
        middle.remove_prefix(at + pieces_[i].size());
    }
    return true;
}

}  // namespace culex
