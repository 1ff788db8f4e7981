#include "book_record.h"

#include <cstdio>

namespace culex {

std::string book_timestamp(int64_t epoch_us) {
    const int64_t ms = epoch_us / 1000;
    char text[32];
    std::snprintf(text, sizeof text, "%lld.%03lld", static_cast<long long>(ms / 1000),
                  static_cast<long long>(ms % 1000));
    return text;
}

void write_book_record(JsonWriter& w, const StoredMessage& m) {
    w.StartObject();
    w.Key("id");
    if (m.id > 0)
        w.Int64(m.id);
    else
        w.Null();
    w.Key("topic");
    write_string(w, m.topic);
    write_payload(w, m.payload);
    w.Key("timestamp");
    write_string(w, book_timestamp(m.received_us));
    w.EndObject();
}

}  // namespace culex
