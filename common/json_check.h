// Decides whether a payload goes into the payload_json (jsonb) column.
//
// PostgreSQL rejects some documents that are valid JSON (a `\u0000` escape, numbers
// past numeric's range, nesting deep enough to hit its stack limit). One such row would
// fail a whole COPY batch, so this check is stricter than the JSON grammar: a payload
// that passes is accepted by jsonb. Pure function, safe from any thread.
#pragma once

#include <string_view>

namespace culex {

// Nesting deeper than this is stored as bytes only; PostgreSQL's recursive JSON parser
// is then far from its stack limit.
inline constexpr int kMaxStoredJsonDepth = 256;

bool is_storable_json(std::string_view payload);

}  // namespace culex
