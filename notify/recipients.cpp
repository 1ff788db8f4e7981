#include "recipients.h"

#include <string>

namespace culex {

Status validate_email_address(std::string_view address) {
    const size_t at = address.rfind('@');
    if (address.size() > 254 || at == std::string_view::npos || at == 0 || at + 1 == address.size())
        return Status::error("'" + std::string(address) +
                             "' is not an e-mail address (local@domain)");
    for (unsigned char c : address) {
        if (c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == ',' || c == ';' || c == '"' ||
            c == '(' || c == ')' || c == '\\')
            return Status::error("'" + std::string(address) +
                                 "' is not a plain e-mail address (local@domain)");
    }
    return Status::ok();
}

Status validate_phone(std::string_view number) {
    if (number.empty() || number.size() > 64)
        return Status::error("a recipient is 1 to 64 characters, like +15551234567");
    for (unsigned char c : number) {
        if (c <= ' ' || c == 0x7f)
            return Status::error("'" + std::string(number) +
                                 "' holds spaces or control characters");
    }
    return Status::ok();
}

}  // namespace culex
