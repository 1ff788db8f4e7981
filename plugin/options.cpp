#include "options.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <string_view>

#include "common/client_pattern.h"
#include "common/time_text.h"
#include "common/topic_filter.h"
#include "notify/recipients.h"
#include "notify/target_policy.h"
#include "storage/pg_connection.h"

namespace culex {
namespace {

// A hundred years: past any retention anyone means, short of overflowing microseconds.
constexpr int64_t kLongestRetentionS = int64_t{36500} * 86400;

std::string trim(std::string_view s) {
    size_t b = 0;
    size_t e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b])))
        ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1])))
        --e;
    return std::string(s.substr(b, e - b));
}

Status bad(const std::string& key, const std::string& why) {
    return Status::error("plugin_opt_" + key + ": " + why);
}

Status parse_integer(const std::string& key, const std::string& value, int64_t min, int64_t max,
                     int64_t& out) {
    int64_t v = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
    if (ec != std::errc() || end != value.data() + value.size() || v < min || v > max) {
        return bad(key, "expected an integer from " + std::to_string(min) + " to " +
                            std::to_string(max) + ", got '" + value + "'");
    }
    out = v;
    return Status::ok();
}

// Byte sizes: a plain integer, or one with a k, M or G suffix (powers of 1024).
Status parse_size(const std::string& key, const std::string& value, int64_t min, int64_t max,
                  int64_t& out) {
    std::string digits = value;
    int64_t unit = 1;
    if (!digits.empty()) {
        switch (digits.back()) {
            case 'k':
            case 'K':
                unit = int64_t{1} << 10;
                break;
            case 'M':
                unit = int64_t{1} << 20;
                break;
            case 'G':
                unit = int64_t{1} << 30;
                break;
            default:
                break;
        }
        if (unit != 1)
            digits.pop_back();
    }
    int64_t v = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (ec != std::errc() || end != digits.data() + digits.size() || v < 0 || v > max / unit ||
        v * unit < min) {
        const std::string lowest = min >= (int64_t{1} << 20) ? std::to_string(min >> 20) + "M"
                                                             : std::to_string(min >> 10) + "k";
        return bad(key, "expected a size from " + lowest + " to " + std::to_string(max >> 30) +
                            "G (bytes, or with a k/M/G suffix), got '" + value + "'");
    }
    out = v * unit;
    return Status::ok();
}

Status parse_bool(const std::string& key, const std::string& value, bool& out) {
    if (value == "true") {
        out = true;
    } else if (value == "false") {
        out = false;
    } else {
        return bad(key, "expected true or false, got '" + value + "'");
    }
    return Status::ok();
}

Status parse_filter(const std::string& key, const std::string& value,
                    std::vector<std::string>& out) {
    Status valid = validate_topic_filter(value);
    if (!valid.is_ok())
        return bad(key, valid.message() + " ('" + value + "')");
    out.push_back(value);
    return Status::ok();
}

// Durations: a whole number with a unit, s, m, h or d (`90d`, `12h`); with `off_allowed`,
// also `off`, which is 0.
Status parse_duration(const std::string& key, const std::string& value, int64_t min_s,
                      int64_t max_s, int64_t& out, bool off_allowed = false) {
    if (off_allowed && value == "off") {
        out = 0;
        return Status::ok();
    }
    int64_t unit = 0;
    switch (value.empty() ? '\0' : value.back()) {
        case 's':
            unit = 1;
            break;
        case 'm':
            unit = 60;
            break;
        case 'h':
            unit = 3600;
            break;
        case 'd':
            unit = 86400;
            break;
        default:
            break;
    }
    int64_t v = 0;
    bool valid = unit != 0;
    if (valid) {
        const char* end = value.data() + value.size() - 1;
        auto [stop, ec] = std::from_chars(value.data(), end, v);
        valid =
            ec == std::errc() && stop == end && v >= 0 && v <= max_s / unit && v * unit >= min_s;
    }
    if (!valid) {
        return bad(key, std::string("expected ") + (off_allowed ? "off or " : "") +
                            "a duration from " + format_duration(min_s) + " to " +
                            format_duration(max_s) + " (a number and s, m, h or d), got '" + value +
                            "'");
    }
    out = v * unit;
    return Status::ok();
}

Status parse_broker_id(const std::string& key, const std::string& value, std::string& out) {
    if (value.empty() || value.size() > 64)
        return bad(key, "expected 1 to 64 characters");
    for (unsigned char c : value) {
        if (!std::isalnum(c) && c != '-' && c != '_' && c != '.') {
            return bad(key, "use only letters, digits, '-', '_' and '.', got '" + value + "'");
        }
    }
    out = value;
    return Status::ok();
}

Status parse_listen(const std::string& key, const std::string& value, std::string& out) {
    if (value.empty() || value == "off") {
        out.clear();
        return Status::ok();
    }
    const size_t colon = value.rfind(':');
    in_addr address{};
    int64_t port = 0;
    if (colon == std::string::npos ||
        inet_pton(AF_INET, value.substr(0, colon).c_str(), &address) != 1 ||
        !parse_integer(key, value.substr(colon + 1), 1, 65535, port).is_ok()) {
        return bad(key, "expected an IPv4 address and port like 127.0.0.1:8080, or off, got '" +
                            value + "'");
    }
    out = value;
    return Status::ok();
}

Status parse_readable_file(const std::string& key, const std::string& value, std::string& out) {
    if (value.empty() || access(value.c_str(), R_OK) != 0)
        return bad(key, "cannot read file '" + value + "'");
    out = value;
    return Status::ok();
}

Status check_admin_token(const std::string& key, const std::string& token) {
    if (token.size() < 16 || token.size() > 512)
        return bad(key, "the admin token must be 16 to 512 characters (try: openssl rand -hex 32)");
    for (unsigned char c : token) {
        if (c <= ' ' || c >= 0x7f)
            return bad(key, "the admin token must be printable ASCII without spaces");
    }
    return Status::ok();
}

Status read_admin_token_file(const std::string& key, const std::string& path, std::string& out) {
    std::ifstream file(path);
    std::string line;
    if (!file || !std::getline(file, line))
        return bad(key, "cannot read file '" + path + "'");
    line = trim(line);
    Status s = check_admin_token(key, line);
    if (s.is_ok())
        out = line;
    return s;
}

using Setter = std::function<Status(const std::string& key, const std::string& value, Config&)>;

// Printable text without spaces, as credentials and account ids are.
Setter text_option(std::string Config::*field) {
    return [=](const std::string& key, const std::string& value, Config& c) {
        if (value.empty() || value.size() > 1024)
            return bad(key, "expected 1 to 1024 characters");
        for (unsigned char ch : value) {
            if (ch < ' ' || ch == 0x7f)
                return bad(key, "control characters are not allowed");
        }
        c.*field = value;
        return Status::ok();
    };
}

// The first line of a file, for secrets that should not sit in mosquitto.conf.
Status read_secret_file(const std::string& key, const std::string& path, std::string& out) {
    std::ifstream file(path);
    std::string line;
    if (!file || !std::getline(file, line) || trim(line).empty())
        return bad(key, "cannot read a secret from the first line of '" + path + "'");
    out = trim(line);
    return Status::ok();
}

Status parse_target(const std::string& key, const std::string& value,
                    std::vector<std::string>& out) {
    Result<TargetPolicy> valid = TargetPolicy::parse({value}, {});
    if (!valid.is_ok())
        return bad(key, valid.status().message());
    out.push_back(value);
    return Status::ok();
}

template <typename Field>
Setter integer(Field Config::*field, int64_t min, int64_t max) {
    return [=](const std::string& key, const std::string& value, Config& c) {
        int64_t v = 0;
        Status s = parse_integer(key, value, min, max, v);
        if (s.is_ok())
            c.*field = static_cast<Field>(v);
        return s;
    };
}

// Byte sizes from `min` to 1024G.
Setter byte_size(size_t Config::*field, int64_t min = int64_t{1} << 20) {
    return [=](const std::string& key, const std::string& value, Config& c) {
        int64_t v = 0;
        Status s = parse_size(key, value, min, int64_t{1} << 40, v);
        if (s.is_ok())
            c.*field = static_cast<size_t>(v);
        return s;
    };
}

const std::map<std::string, Setter>& setters() {
    static const std::map<std::string, Setter> kSetters = {
        {"db_conninfo",
         [](const std::string& key, const std::string& value, Config& c) {
             Status s = validate_conninfo(value);
             if (!s.is_ok())
                 return bad(key, s.message());
             c.db_conninfo = value;
             return Status::ok();
         }},
        {"db_read_conninfo",
         [](const std::string& key, const std::string& value, Config& c) {
             Status s = validate_conninfo(value);
             if (!s.is_ok())
                 return bad(key, s.message());
             c.db_read_conninfo = value;
             return Status::ok();
         }},
        {"read_max_lag_ms", integer(&Config::read_max_lag_ms, 0, 3600000)},
        {"broker_id", [](const std::string& key, const std::string& value,
                         Config& c) { return parse_broker_id(key, value, c.broker_id); }},
        {"store_topics", [](const std::string& key, const std::string& value,
                            Config& c) { return parse_filter(key, value, c.store_topics); }},
        {"exclude_topics", [](const std::string& key, const std::string& value,
                              Config& c) { return parse_filter(key, value, c.exclude_topics); }},
        {"exclude_clients",
         [](const std::string& key, const std::string& value, Config& c) {
             Result<ClientPattern> pattern = ClientPattern::parse(value);
             if (!pattern.is_ok())
                 return bad(key, pattern.status().message() + " ('" + value + "')");
             c.exclude_clients.add(std::move(pattern.value()));
             return Status::ok();
         }},
        {"worker_nice",
         [](const std::string& key, const std::string& value, Config& c) {
             int64_t nice = 0;
             Status s = parse_integer(key, value, 0, 19, nice);
             if (s.is_ok())
                 c.worker_priority.nice = static_cast<int>(nice);
             return s;
         }},
        {"worker_sched",
         [](const std::string& key, const std::string& value, Config& c) {
             if (value == "normal")
                 c.worker_priority.batch = false;
             else if (value == "batch")
                 c.worker_priority.batch = true;
             else
                 return bad(key, "expected normal or batch, not '" + value + "'");
             return Status::ok();
         }},
        {"batch_max_rows", integer(&Config::batch_max_rows, 1, 100000)},
        {"batch_max_ms", integer(&Config::batch_max_ms, 0, 10000)},
        {"queue_capacity", integer(&Config::queue_capacity, 1000, 100000000)},
        {"queue_max_bytes", byte_size(&Config::queue_max_bytes)},
        {"queue_full",
         [](const std::string& key, const std::string& value, Config& c) {
             if (value == "deliver")
                 c.queue_full = Config::QueueFull::kDeliver;
             else if (value == "reject_v5")
                 c.queue_full = Config::QueueFull::kRejectV5;
             else
                 return bad(key, "expected deliver or reject_v5, not '" + value + "'");
             return Status::ok();
         }},
        {"store_json", [](const std::string& key, const std::string& value,
                          Config& c) { return parse_bool(key, value, c.store_json); }},
        {"db_retry_max_ms", integer(&Config::db_retry_max_ms, 100, 600000)},
        {"shutdown_timeout_ms", integer(&Config::shutdown_timeout_ms, 0, 3600000)},
        {"spool_dir",
         [](const std::string& key, const std::string& value, Config& c) {
             if (value.empty())
                 return bad(key, "expected a directory");
             c.spool_dir = value;
             return Status::ok();
         }},
        {"spool_max_bytes", byte_size(&Config::spool_max_bytes)},
        {"spool_threshold", integer(&Config::spool_threshold, 1, 100000000)},
        {"partition_interval",
         [](const std::string& key, const std::string& value, Config& c) {
             Status s = parse_duration(key, value, 3600, 30 * 86400, c.partition_interval_s, true);
             if (s.is_ok() && c.partition_interval_s % 3600 != 0)
                 return bad(key, "expected whole hours (like 6h or 1d), got '" + value + "'");
             return s;
         }},
        {"retention",
         [](const std::string& key, const std::string& value, Config& c) {
             return parse_duration(key, value, 3600, kLongestRetentionS, c.retention_s, true);
         }},
        {"retention_topics",
         [](const std::string& key, const std::string& value, Config& c) {
             const size_t space = value.find_last_of(" \t");
             if (space == std::string::npos)
                 return bad(key, "expected a topic filter and an age, like 'sensors/+/raw 7d'");
             Config::TopicRetention entry;
             entry.filter = trim(value.substr(0, space));
             Status valid = validate_topic_filter(entry.filter);
             if (!valid.is_ok())
                 return bad(key, valid.message() + " ('" + entry.filter + "')");
             Status age = parse_duration(key, value.substr(space + 1), 60, kLongestRetentionS,
                                         entry.age_s);
             if (!age.is_ok())
                 return age;
             c.retention_topics.push_back(std::move(entry));
             return Status::ok();
         }},
        {"trash_retention",
         [](const std::string& key, const std::string& value, Config& c) {
             return parse_duration(key, value, 60, kLongestRetentionS, c.trash_retention_s, true);
         }},
        {"maintenance_interval",
         [](const std::string& key, const std::string& value, Config& c) {
             return parse_duration(key, value, 1, 86400, c.maintenance_interval_s);
         }},
        {"http_listen", [](const std::string& key, const std::string& value,
                           Config& c) { return parse_listen(key, value, c.http_listen); }},
        {"http_threads", integer(&Config::http_threads, 2, 512)},
        {"http_tls_cert",
         [](const std::string& key, const std::string& value, Config& c) {
             return parse_readable_file(key, value, c.http_tls_cert);
         }},
        {"http_tls_key", [](const std::string& key, const std::string& value,
                            Config& c) { return parse_readable_file(key, value, c.http_tls_key); }},
        {"http_max_body", byte_size(&Config::http_max_body, int64_t{1} << 10)},
        {"http_request_head_timeout_ms",
         integer(&Config::http_request_head_timeout_ms, 100, 3600000)},
        {"http_max_connections", integer(&Config::http_max_connections, 1, 1000000)},
        {"http_max_connections_per_client",
         integer(&Config::http_max_connections_per_client, 1, 1000000)},
        {"http_cors_origins",
         [](const std::string& key, const std::string& value, Config& c) {
             // "*" alone, or exact origins (scheme://host[:port]) separated by commas.
             c.http_cors_origins.clear();
             size_t start = 0;
             while (start <= value.size()) {
                 size_t comma = value.find(',', start);
                 if (comma == std::string::npos)
                     comma = value.size();
                 const std::string origin = trim(value.substr(start, comma - start));
                 const size_t host = origin.find("://") + 3;
                 const bool web =
                     origin.rfind("http://", 0) == 0 || origin.rfind("https://", 0) == 0;
                 if (origin != "*" && (!web || origin.size() == host ||
                                       origin.find_first_of("/?# \t", host) != std::string::npos))
                     return bad(key, "expected * or origins like https://app.example.com, "
                                     "separated by commas, not '" + origin + "'");
                 c.http_cors_origins.push_back(origin);
                 start = comma + 1;
             }
             if (c.http_cors_origins.size() > 1 &&
                 std::find(c.http_cors_origins.begin(), c.http_cors_origins.end(), "*") !=
                     c.http_cors_origins.end())
                 return bad(key, "* allows every origin; give it alone");
             return Status::ok();
         }},
        {"http_db_connections", integer(&Config::http_db_connections, 1, 256)},
        {"http_statement_timeout_ms", integer(&Config::http_statement_timeout_ms, 0, 86400000)},
        {"stream_max_queue", integer(&Config::stream_max_queue, 10, 1000000)},
        {"admin_token",
         [](const std::string& key, const std::string& value, Config& c) {
             Status s = check_admin_token(key, value);
             if (s.is_ok())
                 c.admin_token = value;
             return s;
         }},
        {"timestamp_topic",
         [](const std::string& key, const std::string& value, Config& c) {
             Status valid = validate_topic_name(value);
             if (!valid.is_ok())
                 return bad(key, valid.message() + " ('" + value + "')");
             c.timestamp_topic = value;
             return Status::ok();
         }},
        {"timestamp_interval", integer(&Config::timestamp_interval, 0, 86400)},
        {"book_api", [](const std::string& key, const std::string& value,
                        Config& c) { return parse_bool(key, value, c.book_api); }},
        {"rules", [](const std::string& key, const std::string& value,
                     Config& c) { return parse_bool(key, value, c.rules); }},
        {"rules_queue_capacity", integer(&Config::rules_queue_capacity, 1000, 100000000)},
        {"delivery_allow", [](const std::string& key, const std::string& value,
                              Config& c) { return parse_target(key, value, c.delivery_allow); }},
        {"delivery_deny", [](const std::string& key, const std::string& value,
                             Config& c) { return parse_target(key, value, c.delivery_deny); }},
        {"delivery_concurrency", integer(&Config::delivery_concurrency, 1, 1000)},
        {"delivery_per_target", integer(&Config::delivery_per_target, 1, 1000)},
        {"delivery_timeout_ms", integer(&Config::delivery_timeout_ms, 100, 600000)},
        {"delivery_max_attempts", integer(&Config::delivery_max_attempts, 1, 100)},
        {"delivery_retry_initial_ms", integer(&Config::delivery_retry_initial_ms, 10, 3600000)},
        {"delivery_retry_max_ms", integer(&Config::delivery_retry_max_ms, 10, 86400000)},
        {"delivery_retention", integer(&Config::delivery_retention_s, 60, 3650L * 86400)},
        {"delivery_ca_file",
         [](const std::string& key, const std::string& value, Config& c) {
             return parse_readable_file(key, value, c.delivery_ca_file);
         }},
        {"smtp_url",
         [](const std::string& key, const std::string& value, Config& c) {
             if (value.rfind("smtp://", 0) != 0 && value.rfind("smtps://", 0) != 0)
                 return bad(key, "expected smtp://host[:port] or smtps://host[:port], got '" +
                                     value + "'");
             c.smtp_url = value;
             return Status::ok();
         }},
        {"smtp_username", text_option(&Config::smtp_username)},
        {"smtp_password", text_option(&Config::smtp_password)},
        {"smtp_password_file",
         [](const std::string& key, const std::string& value, Config& c) {
             return read_secret_file(key, value, c.smtp_password);
         }},
        {"smtp_from",
         [](const std::string& key, const std::string& value, Config& c) {
             Status valid = validate_email_address(value);
             if (!valid.is_ok())
                 return bad(key, valid.message());
             c.smtp_from = value;
             return Status::ok();
         }},
        {"smtp_starttls", [](const std::string& key, const std::string& value,
                             Config& c) { return parse_bool(key, value, c.smtp_starttls); }},
        {"sms_url",
         [](const std::string& key, const std::string& value, Config& c) {
             if (value.rfind("http://", 0) != 0 && value.rfind("https://", 0) != 0)
                 return bad(key, "expected an http:// or https:// base URL, got '" + value + "'");
             c.sms_url = value;
             while (!c.sms_url.empty() && c.sms_url.back() == '/')
                 c.sms_url.pop_back();
             return Status::ok();
         }},
        {"sms_account_sid", text_option(&Config::sms_account_sid)},
        {"sms_auth_token", text_option(&Config::sms_auth_token)},
        {"sms_auth_token_file",
         [](const std::string& key, const std::string& value,
            Config& c) { return read_secret_file(key, value, c.sms_auth_token); }},
        {"sms_from", text_option(&Config::sms_from)},
        {"admin_token_file",
         [](const std::string& key, const std::string& value,
            Config& c) { return read_admin_token_file(key, value, c.admin_token); }},
    };
    return kSetters;
}

// Options that may be given on several lines, one value per line.
bool is_list_option(const std::string& key) {
    return key == "store_topics" || key == "exclude_topics" || key == "exclude_clients" ||
           key == "delivery_allow" || key == "delivery_deny" || key == "retention_topics";
}

}  // namespace

Result<Config> parse_options(const std::vector<PluginOption>& options,
                             const std::string& default_broker_id) {
    Config config;
    config.broker_id = default_broker_id;
    std::set<std::string> seen;
    for (const PluginOption& option : options) {
        const std::string key = trim(option.key);
        const std::string value = trim(option.value);
        auto it = setters().find(key);
        if (it == setters().end()) {
            std::string known;
            for (const auto& [name, setter] : setters())
                known += (known.empty() ? "" : ", ") + name;
            return bad(key, "unknown option (known: " + known + ")");
        }
        bool first_time = seen.insert(key).second;
        if (!first_time && !is_list_option(key))
            return bad(key, "given more than once");
        // The first line of a list option replaces its default rather than adding to it.
        if (first_time && key == "store_topics")
            config.store_topics.clear();
        Status s = it->second(key, value, config);
        if (!s.is_ok())
            return s;
    }
    if (config.broker_id.empty())
        return bad("broker_id", "no host name to default to; set it");
    if (seen.count("admin_token") != 0 && seen.count("admin_token_file") != 0)
        return bad("admin_token_file", "give admin_token or admin_token_file, not both");
    if (config.http_tls_cert.empty() != config.http_tls_key.empty()) {
        return bad(config.http_tls_cert.empty() ? "http_tls_cert" : "http_tls_key",
                   "HTTPS needs both http_tls_cert and http_tls_key");
    }
    for (const char* secret : {"smtp_password", "sms_auth_token"}) {
        if (seen.count(secret) != 0 && seen.count(std::string(secret) + "_file") != 0)
            return bad(std::string(secret) + "_file",
                       std::string("give ") + secret + " or " + secret + "_file, not both");
    }
    if (config.delivery_retry_max_ms < config.delivery_retry_initial_ms)
        return bad("delivery_retry_max_ms", "must not be below delivery_retry_initial_ms");
    if (config.delivery_per_target > config.delivery_concurrency)
        return bad("delivery_per_target", "must not be above delivery_concurrency");
    if (seen.count("spool_threshold") == 0) {
        config.spool_threshold = std::min(config.spool_threshold, config.queue_capacity / 2);
    } else if (config.spool_threshold >= config.queue_capacity) {
        return bad("spool_threshold",
                   "must be below queue_capacity (" + std::to_string(config.queue_capacity) + ")");
    }
    return config;
}

}  // namespace culex
