#include "target_policy.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <memory>
#include <optional>

namespace culex {
namespace {

using Ip = std::array<uint8_t, 16>;

bool parse_ip(std::string_view text, Ip& out, bool& v4) {
    const std::string s(text);
    in_addr a4{};
    in6_addr a6{};
    out.fill(0);
    if (inet_pton(AF_INET, s.c_str(), &a4) == 1) {
        out[10] = out[11] = 0xff;
        std::memcpy(out.data() + 12, &a4, 4);
        v4 = true;
        return true;
    }
    if (inet_pton(AF_INET6, s.c_str(), &a6) == 1) {
        std::memcpy(out.data(), &a6, 16);
        v4 = false;
        return true;
    }
    return false;
}

bool prefix_equal(const Ip& a, const Ip& b, int bits) {
    for (int i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
        const uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
        if ((a[i] & mask) != (b[i] & mask))
            return false;
    }
    return true;
}

// Addresses that are not on the public internet (IANA special-purpose registries).
bool is_public(const Ip& ip) {
    static const char* const kSpecial[] = {
        "0.0.0.0/8",       "10.0.0.0/8",     "100.64.0.0/10", "127.0.0.0/8",    "169.254.0.0/16",
        "172.16.0.0/12",   "192.0.0.0/24",   "192.0.2.0/24",  "192.168.0.0/16", "198.18.0.0/15",
        "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4",   "240.0.0.0/4",    "::/128",
        "::1/128",         "64:ff9b::/96",   "100::/64",      "2001:db8::/32",  "fc00::/7",
        "fe80::/10",       "ff00::/8",
    };
    for (const char* entry : kSpecial) {
        const std::string_view e(entry);
        const size_t slash = e.find('/');
        Ip net{};
        bool v4 = false;
        parse_ip(e.substr(0, slash), net, v4);
        const int bits = std::stoi(std::string(e.substr(slash + 1))) + (v4 ? 96 : 0);
        if (prefix_equal(ip, net, bits))
            return false;
    }
    return true;
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool host_name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

}  // namespace

Status TargetPolicy::add_entry(const std::string& entry, Lists& lists) {
    const size_t slash = entry.find('/');
    Ip ip{};
    bool v4 = false;
    if (parse_ip(entry.substr(0, slash), ip, v4)) {
        int bits = v4 ? 32 : 128;
        if (slash != std::string::npos) {
            const std::string len = entry.substr(slash + 1);
            if (len.empty() || len.size() > 3 ||
                len.find_first_not_of("0123456789") != std::string::npos || std::stoi(len) > bits)
                return Status::error("'" + entry + "' has a bad prefix length");
            bits = std::stoi(len);
        }
        lists.networks.push_back({ip, bits + (v4 ? 96 : 0)});
        return Status::ok();
    }
    std::string_view name = entry;
    if (name.substr(0, 2) == "*.")
        name.remove_prefix(2);
    if (name.empty() || slash != std::string::npos ||
        !std::all_of(name.begin(), name.end(), host_name_char))
        return Status::error("'" + entry +
                             "' is neither a host name (like hooks.example.com or *.example.com) "
                             "nor a network (like 10.0.0.0/8)");
    lists.names.push_back(lower(entry));
    return Status::ok();
}

Result<TargetPolicy> TargetPolicy::parse(const std::vector<std::string>& allow,
                                         const std::vector<std::string>& deny) {
    TargetPolicy p;
    for (const std::string& e : allow) {
        if (Status s = add_entry(e, p.allow_); !s.is_ok())
            return s;
    }
    for (const std::string& e : deny) {
        if (Status s = add_entry(e, p.deny_); !s.is_ok())
            return s;
    }
    return p;
}

bool TargetPolicy::name_listed(const std::vector<std::string>& names, const std::string& host) {
    for (const std::string& n : names) {
        if (n.substr(0, 2) == "*.") {
            const std::string_view suffix = std::string_view(n).substr(1);
            if (host.size() > suffix.size() && host.ends_with(suffix))
                return true;
        } else if (n == host) {
            return true;
        }
    }
    return false;
}

TargetPolicy::Verdict TargetPolicy::check_host(std::string_view host) const {
    Ip ip{};
    bool v4 = false;
    std::string_view bare = host;
    if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']')
        bare = bare.substr(1, bare.size() - 2);
    if (parse_ip(bare, ip, v4))
        return allows(ip) ? Verdict::kAllow : Verdict::kDeny;
    std::string name = lower(host);
    if (!name.empty() && name.back() == '.')
        name.pop_back();
    if (name_listed(allow_.names, name))
        return Verdict::kAllow;
    if (name_listed(deny_.names, name))
        return Verdict::kDeny;
    return Verdict::kByAddress;
}

bool TargetPolicy::in(const std::vector<Network>& networks, const Ip& ip) {
    return std::any_of(networks.begin(), networks.end(),
                       [&](const Network& n) { return prefix_equal(ip, n.bytes, n.prefix); });
}

bool TargetPolicy::allows(const Ip& ip) const {
    if (in(allow_.networks, ip))
        return true;
    if (in(deny_.networks, ip))
        return false;
    return is_public(ip);
}

bool TargetPolicy::allows_address(const sockaddr* address) const {
    Ip ip{};
    if (address->sa_family == AF_INET) {
        ip[10] = ip[11] = 0xff;
        std::memcpy(ip.data() + 12, &reinterpret_cast<const sockaddr_in*>(address)->sin_addr, 4);
    } else if (address->sa_family == AF_INET6) {
        std::memcpy(ip.data(), &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, 16);
    } else {
        return false;
    }
    return allows(ip);
}

bool TargetPolicy::allows_address(std::string_view ip_text) const {
    Ip ip{};
    bool v4 = false;
    return parse_ip(ip_text, ip, v4) && allows(ip);
}

Result<std::string> webhook_target(const std::string& url, std::string* host_out) {
    std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), curl_url_cleanup);
    if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK)
        return Status::error("is not a URL");
    auto part = [&](CURLUPart which, unsigned flags) -> std::optional<std::string> {
        char* value = nullptr;
        if (curl_url_get(u.get(), which, &value, flags) != CURLUE_OK)
            return std::nullopt;
        std::string out(value);
        curl_free(value);
        return out;
    };
    std::optional<std::string> scheme = part(CURLUPART_SCHEME, 0);
    if (!scheme || (*scheme != "http" && *scheme != "https"))
        return Status::error("must be an http:// or https:// URL");
    if (part(CURLUPART_USER, 0))
        return Status::error("cannot carry credentials; use a header");
    std::optional<std::string> host = part(CURLUPART_HOST, 0);
    std::optional<std::string> port = part(CURLUPART_PORT, CURLU_DEFAULT_PORT);
    if (!host || host->empty() || !port)
        return Status::error("has no host");
    std::string lower = *host;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (host_out != nullptr)
        *host_out = lower;
    return lower + ":" + *port;
}

}  // namespace culex
