#include "message_ids.h"

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <string>

#include "pg_array.h"

namespace culex {

int64_t message_id_hour(int64_t received_us) {
    constexpr int64_t kHourUs = int64_t{3600} * 1000000;
    return received_us >= 0 ? received_us / kHourUs : -((-received_us + kHourUs - 1) / kHourUs);
}

int64_t MessageIds::available(int64_t hour) const {
    auto it = blocks_.find(hour);
    int64_t n = 0;
    if (it != blocks_.end()) {
        for (const Block& b : it->second)
            n += b.end - b.next;
    }
    return n;
}

PgOutcome MessageIds::reserve(PgConnection& db, const std::map<int64_t, int64_t>& needed) {
    std::vector<std::string> hours;
    std::vector<std::string> counts;
    for (const auto& [hour, count] : needed) {
        hours.push_back(std::to_string(hour));
        counts.push_back(std::to_string(std::max(count, kBlock)));
    }
    PgOutcome reserved = db.exec(
        "SELECT r.hour, r.n, culex.reserve_message_ids(r.hour, r.n)"
        " FROM unnest($1::integer[], $2::integer[]) AS r(hour, n)",
        {pg_text_array(hours), pg_text_array(counts)});
    if (!reserved.ok())
        return reserved;
    const PGresult* r = reserved.result.get();
    for (int row = 0; row < PQntuples(r); ++row) {
        const int64_t hour = std::strtoll(PQgetvalue(r, row, 0), nullptr, 10);
        const int64_t count = std::strtoll(PQgetvalue(r, row, 1), nullptr, 10);
        const int64_t first = std::strtoll(PQgetvalue(r, row, 2), nullptr, 10);
        blocks_[hour].push_back(Block{first, first + count});
    }
    return reserved;
}

PgOutcome MessageIds::assign(PgConnection& db, std::vector<Message>& batch) {
    // What each hour needs beyond the ids its blocks still hold.
    std::map<int64_t, int64_t> wanted;
    for (const Message& m : batch)
        ++wanted[message_id_hour(m.received_us)];
    std::map<int64_t, int64_t> short_of;
    for (const auto& [hour, count] : wanted) {
        const int64_t have = available(hour);
        if (have < count)
            short_of[hour] = count - have;
    }
    if (!short_of.empty()) {
        PgOutcome reserved = reserve(db, short_of);
        if (!reserved.ok())
            return reserved;
    }
    // A block's last ids go before the next block's first, so one broker's ids stay
    // contiguous within an hour while no other broker reserves in between.
    for (Message& m : batch) {
        std::deque<Block>& blocks = blocks_[message_id_hour(m.received_us)];
        while (blocks.front().next == blocks.front().end)
            blocks.pop_front();
        m.id = blocks.front().next++;
    }
    for (auto it = blocks_.begin(); blocks_.size() > kMaxHours && it != blocks_.end();)
        it = wanted.count(it->first) != 0 ? std::next(it) : blocks_.erase(it);
    return PgOutcome{};
}

}  // namespace culex
