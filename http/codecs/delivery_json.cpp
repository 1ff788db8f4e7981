#include "delivery_json.h"

#include "common/time_text.h"

namespace culex {

void write_delivery(JsonWriter& w, const DeliveryRow& d) {
    w.StartObject();
    w.Key("id");
    w.Int64(d.id);
    w.Key("kind");
    w.String(delivery_kind_name(d.kind));
    w.Key("state");
    w.String(delivery_state_name(d.state));
    w.Key("attempts");
    w.Int(d.attempts);
    w.Key("max_attempts");
    w.Int(d.max_attempts);
    w.Key("next_attempt_at");
    if (d.state == DeliveryState::kPending || d.state == DeliveryState::kSending)
        write_string(w, format_rfc3339_us(d.next_attempt_us));
    else
        w.Null();
    w.Key("last_status");
    if (d.last_status)
        w.Int(*d.last_status);
    else
        w.Null();
    w.Key("last_error");
    if (d.last_error)
        write_string(w, *d.last_error);
    else
        w.Null();
    w.Key("rule");
    if (d.rule_id || d.rule_name) {
        w.StartObject();
        w.Key("id");
        if (d.rule_id)
            w.Int64(*d.rule_id);
        else
            w.Null();
        w.Key("name");
        write_string(w, d.rule_name ? *d.rule_name : "");
        w.EndObject();
    } else {
        w.Null();
    }
    w.Key("message_id");
    if (d.message_id)
        w.Int64(*d.message_id);
    else
        w.Null();
    w.Key("target");
    write_string(w, d.target);
    w.Key("created_at");
    write_string(w, format_rfc3339_us(d.created_us));
    w.Key("updated_at");
    write_string(w, format_rfc3339_us(d.updated_us));
    w.Key("delivered_at");
    if (d.delivered_us)
        write_string(w, format_rfc3339_us(*d.delivered_us));
    else
        w.Null();
    w.EndObject();
}

}  // namespace culex
