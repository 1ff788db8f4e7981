#include "random_values.h"

#include <openssl/rand.h>
#include <uuid/uuid.h>

#include <stdexcept>

namespace culex {

uint64_t random_u64() {
    uint64_t v = 0;
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v) != 1)
        throw std::runtime_error("the system random generator failed");
    return v;
}

uint64_t random_below(uint64_t bound) {
    // Rejection sampling: values past the last whole multiple of bound are drawn again.
    const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    uint64_t v = 0;
    do {
        v = random_u64();
    } while (v >= limit);
    return v % bound;
}

std::string random_text(std::string_view alphabet, size_t length) {
    std::string value(length, ' ');
    for (char& c : value)
        c = alphabet[random_below(alphabet.size())];
    return value;
}

std::string new_uuid(int version) {
    uuid_t id;
    if (version == 4)
        uuid_generate_random(id);
    else
        uuid_generate_time(id);
    char text[37];
    uuid_unparse_lower(id, text);
    return std::string(text, 36);
}

}  // namespace culex
