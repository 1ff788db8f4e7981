// Files served as they are, embedded at build time from http/openapi.json and
// http/docs.html (see CMakeLists.txt).
#pragma once

namespace culex {

extern const char kOpenApiJson[];
extern const char kDocsHtml[];

}  // namespace culex
