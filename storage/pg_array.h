// PostgreSQL array literals for passing lists as one text parameter ($1::text[]).
// Pure function, safe from any thread.
#pragma once

#include <string>
#include <vector>

namespace culex {

// `{"a","b\"c"}`: every element quoted, `"` and `\` escaped, so any text survives.
inline std::string pg_text_array(const std::vector<std::string>& items) {
    std::string array = "{";
    for (const std::string& item : items) {
        if (array.size() > 1)
            array += ',';
        array += '"';
        for (char c : item) {
            if (c == '"' || c == '\\')
                array += '\\';
            array += c;
        }
        array += '"';
    }
    array += '}';
    return array;
}

}  // namespace culex
