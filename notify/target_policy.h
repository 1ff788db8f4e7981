// Where outgoing webhooks may connect: the admin's allow and deny lists of host names
// (`hooks.example.com`, `*.example.com`) and networks (`10.0.0.0/8`, `192.0.2.7`,
// `fd00::/8`). A host name on the allow list is trusted whatever it resolves to; one on
// the deny list is refused. Otherwise the address actually connected to decides (so DNS
// cannot smuggle a private address past a name): an allowed network admits it, a denied
// one refuses it, and by default public addresses are allowed and loopback, private,
// link-local, multicast and reserved ones are not. Allow wins over deny.
// Immutable once parsed; safe from any thread.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace culex {

// The host:port an http(s) URL connects to, lower case (for per-target concurrency and
// the policy); the host alone in `host`. An error when it is not such a URL.
Result<std::string> webhook_target(const std::string& url, std::string* host = nullptr);

class TargetPolicy {
  public:
    // Errors name the entry that is neither a host name nor a network.
    static Result<TargetPolicy> parse(const std::vector<std::string>& allow,
                                      const std::vector<std::string>& deny);

    enum class Verdict { kAllow, kDeny, kByAddress };
    // By host name (case-insensitive); an IP literal is left to its address.
    Verdict check_host(std::string_view host) const;
    // For a host the name did not decide: the address connected to.
    bool allows_address(const sockaddr* address) const;
    bool allows_address(std::string_view ip_text) const;

  private:
    struct Network {
        std::array<uint8_t, 16> bytes{};  // IPv4 as ::ffff:a.b.c.d
        int prefix = 0;                   // in bits of the 16-byte form
    };
    struct Lists {
        std::vector<std::string> names;  // lower case; "*.x" matches below x
        std::vector<Network> networks;
    };
    static Status add_entry(const std::string& entry, Lists& lists);
    static bool in(const std::vector<Network>& networks, const std::array<uint8_t, 16>& ip);
    static bool name_listed(const std::vector<std::string>& names, const std::string& host);
    bool allows(const std::array<uint8_t, 16>& ip) const;

    Lists allow_;
    Lists deny_;
};

}  // namespace culex
