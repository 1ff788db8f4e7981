#include "copy_encoder.h"

#include <cstring>

namespace culex {
namespace {

constexpr int16_t kColumnCount = 11;

void put_u16(std::string& out, uint16_t v) {
    char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
    out.append(b, 2);
}

void put_u32(std::string& out, uint32_t v) {
    char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                 static_cast<char>(v)};
    out.append(b, 4);
}

void put_u64(std::string& out, uint64_t v) {
    put_u32(out, static_cast<uint32_t>(v >> 32));
    put_u32(out, static_cast<uint32_t>(v));
}

void put_null(std::string& out) {
    put_u32(out, 0xFFFFFFFFu);
}

void put_bytes(std::string& out, const std::string& bytes) {
    put_u32(out, static_cast<uint32_t>(bytes.size()));
    out.append(bytes);
}

}  // namespace

void begin_copy(std::string& out) {
    out.clear();
    static constexpr char kSignature[] = "PGCOPY\n\377\r\n";  // 11 bytes with the final NUL
    out.append(kSignature, 11);
    put_u32(out, 0);  // flags: no OIDs
    put_u32(out, 0);  // header extension length
}

void append_copy_row(std::string& out, const Message& m, int32_t topic_id, int16_t broker_id,
                     bool with_json) {
    put_u16(out, kColumnCount);
    put_u32(out, 8);
    put_u64(out, static_cast<uint64_t>(m.id));
    put_u32(out, 4);
    put_u32(out, static_cast<uint32_t>(topic_id));
    put_bytes(out, m.payload);
    if (with_json) {
        put_u32(out, static_cast<uint32_t>(m.payload.size() + 1));
        out.push_back('\1');  // jsonb binary format version
        out.append(m.payload);
    } else {
        put_null(out);
    }
    put_u32(out, 2);
    put_u16(out, m.qos);
    put_u32(out, 1);
    out.push_back(m.retain ? '\1' : '\0');
    put_bytes(out, m.client_id);
    if (m.username) {
        put_bytes(out, *m.username);
    } else {
        put_null(out);
    }
    put_u32(out, 2);
    put_u16(out, static_cast<uint16_t>(broker_id));
    put_u32(out, 8);
    put_u64(out, m.seq);
    put_u32(out, 8);
    put_u64(out, static_cast<uint64_t>(m.received_us - kPostgresEpochOffsetUs));
}

void finish_copy(std::string& out) {
    put_u16(out, 0xFFFF);
}

}  // namespace culex
