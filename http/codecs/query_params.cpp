#include "query_params.h"

#include <charconv>

#include "common/time_text.h"
#include "common/utf8.h"

namespace culex {
namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '%') {
            if (i + 2 >= text.size())
                return std::nullopt;
            const int hi = hex_value(text[i + 1]);
            const int lo = hex_value(text[i + 2]);
            if (hi < 0 || lo < 0)
                return std::nullopt;
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            out += ' ';
        } else {
            out += c;
        }
    }
    return out;
}

Result<ParamReader> ParamReader::parse(std::string_view query) {
    ParamReader reader;
    size_t start = 0;
    while (start <= query.size() && !query.empty()) {
        size_t end = query.find('&', start);
        if (end == std::string_view::npos)
            end = query.size();
        std::string_view pair = query.substr(start, end - start);
        if (!pair.empty()) {
            const size_t eq = pair.find('=');
            std::optional<std::string> name = percent_decode(pair.substr(0, eq), true);
            std::optional<std::string> value =
                percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
            if (!name || !value)
                return Status::error("the query string has a malformed %-escape");
            if (!is_valid_utf8(*name) || !is_valid_utf8(*value) ||
                name->find('\0') != std::string::npos || value->find('\0') != std::string::npos)
                return Status::error("query parameters must be UTF-8 text without NUL");
            if (name->empty())
                return Status::error("the query string has a parameter without a name");
            reader.params_.emplace_back(std::move(*name), std::move(*value));
        }
        start = end + 1;
    }
    reader.read_.assign(reader.params_.size(), false);
    return reader;
}

std::optional<std::string> ParamReader::text(std::string_view name) {
    std::optional<std::string> found;
    for (size_t i = 0; i < params_.size(); ++i) {
        if (params_[i].first != name)
            continue;
        read_[i] = true;
        if (found) {
            fail("parameter '" + std::string(name) + "' is given more than once");
            return std::nullopt;
        }
        found = params_[i].second;
    }
    return found;
}

std::vector<std::string> ParamReader::list(std::string_view name) {
    std::vector<std::string> values;
    for (size_t i = 0; i < params_.size(); ++i) {
        if (params_[i].first == name) {
            read_[i] = true;
            values.push_back(params_[i].second);
        }
    }
    return values;
}

std::optional<int64_t> ParamReader::integer(std::string_view name, int64_t min, int64_t max) {
    std::optional<std::string> value = text(name);
    if (!value)
        return std::nullopt;
    int64_t v = 0;
    auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), v);
    if (ec != std::errc() || end != value->data() + value->size() || v < min || v > max) {
        fail("parameter '" + std::string(name) + "' must be an integer from " +
             std::to_string(min) + " to " + std::to_string(max));
        return std::nullopt;
    }
    return v;
}

std::optional<bool> ParamReader::boolean(std::string_view name) {
    std::optional<std::string> value = text(name);
    if (!value)
        return std::nullopt;
    if (*value == "true")
        return true;
    if (*value == "false")
        return false;
    fail("parameter '" + std::string(name) + "' must be true or false");
    return std::nullopt;
}

std::optional<int64_t> ParamReader::time_us(std::string_view name) {
    std::optional<std::string> value = text(name);
    if (!value)
        return std::nullopt;
    std::optional<int64_t> us = parse_time_us(*value);
    if (!us) {
        fail("parameter '" + std::string(name) +
             "' must be an RFC 3339 time (2026-01-31T12:00:00Z) or epoch milliseconds");
    }
    return us;
}

void ParamReader::fail(std::string message) {
    if (error_.empty())
        error_ = std::move(message);
}

Status ParamReader::finish() const {
    if (!error_.empty())
        return Status::error(error_);
    for (size_t i = 0; i < params_.size(); ++i) {
        if (!read_[i])
            return Status::error("unknown parameter '" + params_[i].first + "'");
    }
    return Status::ok();
}

}  // namespace culex
