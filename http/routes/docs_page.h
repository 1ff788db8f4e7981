// The /docs page: the OpenAPI document rendered as plain HTML that reads without
// JavaScript. A contents list by tag, then every route with its parameters, its request
// body (fields and an example) and its answers (with the example of each), then the
// shared schemas. Every string taken from the document is HTML-escaped; of Markdown only
// code spans are understood. Pure functions, any thread; the API renders the page once,
// when its routes are registered.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace culex {

// Where the rendered routes go in the page around them (http/routes/docs.html).
inline constexpr std::string_view kDocsPlaceholder = "<!-- culex:api -->";

// `page` with its placeholder replaced by the rendering of `openapi_json`. An error
// names what is wrong: the document does not parse or has no paths, or the page has no
// placeholder.
Result<std::string> render_docs_page(std::string_view openapi_json, std::string_view page);

// Text as HTML: &, <, >, " and ' escaped, so it is safe in content and in quoted
// attribute values.
std::string html_escape(std::string_view text);

// One line of Markdown as HTML: code spans (`a<b`, ``a`b``, as CommonMark reads them)
// become <code>, everything else is escaped text. A backtick run nothing closes stays
// literal.
std::string markdown_inline_html(std::string_view text);

}  // namespace culex
