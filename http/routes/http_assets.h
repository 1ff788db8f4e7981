// Files embedded at build time (see CMakeLists.txt): http/routes/openapi.json, served as
// it is, and http/routes/docs.html, the page around the routes /docs renders from it
// (docs_page.h). Read-only; any thread.
#pragma once

namespace culex {

extern const char kOpenApiJson[];
extern const char kDocsHtml[];

}  // namespace culex
