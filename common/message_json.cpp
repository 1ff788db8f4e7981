#include "message_json.h"

#include "base64.h"
#include "time_text.h"
#include "utf8.h"

namespace culex {

void write_string(JsonWriter& w, std::string_view text) {
    w.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
}

void write_payload(JsonWriter& w, std::string_view payload) {
    w.Key("payload");
    if (is_valid_utf8(payload)) {
        write_string(w, payload);
    } else {
        write_string(w, base64_encode(payload));
        w.Key("encoding");
        w.String("base64");
    }
}

void write_message(JsonWriter& w, const StoredMessage& m, bool with_id) {
    w.StartObject();
    if (with_id) {
        w.Key("id");
        w.Int64(m.id);
    }
    w.Key("topic");
    write_string(w, m.topic);
    write_payload(w, m.payload);
    w.Key("qos");
    w.Int(m.qos);
    w.Key("retain");
    w.Bool(m.retain);
    w.Key("client_id");
    write_string(w, is_valid_utf8(m.client_id) ? m.client_id : base64_encode(m.client_id));
    w.Key("username");
    if (m.username)
        write_string(w, is_valid_utf8(*m.username) ? *m.username : base64_encode(*m.username));
    else
        w.Null();
    w.Key("broker");
    write_string(w, m.broker);
    w.Key("received_at");
    write_string(w, format_rfc3339_us(m.received_us));
    w.Key("received_at_ms");
    w.Int64(m.received_us / 1000);
    if (m.seq) {
        w.Key("seq");
        w.Uint64(*m.seq);
    }
    w.EndObject();
}

}  // namespace culex
