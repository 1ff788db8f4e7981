#include "fixture.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>

namespace culex::test {

PgCluster& cluster() {
    static std::unique_ptr<PgCluster> instance = std::make_unique<PgCluster>();
    return *instance;
}

PluginOpts plugin_opts_for(const std::string& dbname, const PluginOpts& extra) {
    PluginOpts opts = {{"db_conninfo", cluster().conninfo(dbname)},
                       {"broker_id", "test-broker"},
                       {"db_retry_max_ms", "500"}};
    // An option in `extra` replaces the default above rather than repeating it; options
    // that may repeat (store_topics, ...) are not among the defaults.
    const size_t defaults = opts.size();
    for (const auto& [key, value] : extra) {
        auto end = opts.begin() + static_cast<std::ptrdiff_t>(defaults);
        auto same = std::find_if(opts.begin(), end,
                                 [&key](const auto& option) { return option.first == key; });
        if (same != end)
            same->second = value;
        else
            opts.emplace_back(key, value);
    }
    // Every broker serves HTTP, on a port of its own unless the test picks one.
    bool has_http = false;
    for (const auto& [key, value] : extra)
        has_http = has_http || key == "http_listen";
    if (!has_http)
        opts.emplace_back("http_listen", "127.0.0.1:" + std::to_string(free_port()));
    return opts;
}

long stored_count(PgConnection& db) {
    if (!db.is_open())
        db.connect();
    PgOutcome outcome = db.exec("SELECT count(*) FROM culex.message_store");
    if (!outcome.ok())
        return -1;
    return std::stol(PQgetvalue(outcome.result.get(), 0, 0));
}

bool wait_schema_then_close(PgConnection& db) {
    bool ready = wait_until([&] { return stored_count(db) == 0; }, std::chrono::seconds(30));
    db.close();
    return ready;
}

bool wait_stored(PgConnection& db, long n, std::chrono::milliseconds timeout) {
    return wait_until([&] { return stored_count(db) >= n; }, timeout);
}

std::string from_hex(const std::string& hex) {
    std::string out;
    size_t start = hex.rfind("\\x", 0) == 0 ? 2 : 0;
    for (size_t i = start; i + 1 < hex.size(); i += 2) {
        out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    }
    return out;
}

}  // namespace culex::test
