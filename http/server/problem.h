// RFC 9457 problem details (application/problem+json), the body of every API error.
// `detail` says what was wrong with the request in words an app developer can act on;
// it never carries SQL or internal state. Pure functions, any thread.
#pragma once

#include <string>

#include "http_types.h"

namespace culex {

Response problem(int status, const std::string& detail);

// The standard reason phrase of a status code ("Bad Request"), or "Error".
const char* status_phrase(int status);

}  // namespace culex
