// Checks of e-mail and SMS recipients and senders, wherever they come from: rule
// actions, POST /api/v1/email and /sms, the book's routes, and the smtp_from option.
// Pure functions; errors are one line naming the value.
#pragma once

#include <string_view>

#include "common/status.h"

namespace culex {

// Checks an e-mail address for use in an SMTP envelope and a header: local@domain, no
// spaces, brackets, commas or control characters.
Status validate_email_address(std::string_view address);
// Checks an SMS recipient or sender: 1 to 64 printable characters.
Status validate_phone(std::string_view number);

}  // namespace culex
