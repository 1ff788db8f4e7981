#include <unistd.h>
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "storage/spool.h"

using culex::Message;

namespace {

Message make(uint64_t seq, const std::string& payload) {
    Message m;
    m.topic = "t/" + std::to_string(seq % 3);
    m.payload = payload;
    m.client_id = "c";
    if (seq % 2 == 0)
        m.username = "u";
    m.qos = static_cast<uint8_t>(seq % 3);
    m.retain = seq % 5 == 0;
    m.seq = seq;
    m.received_us = 1700000000000000 + static_cast<int64_t>(seq);
    return m;
}

std::vector<Message> batch_of(uint64_t first, size_t n) {
    std::vector<Message> b;
    for (uint64_t i = 0; i < n; ++i)
        b.push_back(make(first + i, std::string("p\0q", 3) + std::to_string(i)));
    return b;
}

bool same(const std::vector<Message>& a, const std::vector<Message>& b) {
    if (a.size() != b.size())
        return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (a[i].topic != b[i].topic || a[i].payload != b[i].payload ||
            a[i].client_id != b[i].client_id || a[i].username != b[i].username ||
            a[i].qos != b[i].qos || a[i].retain != b[i].retain || a[i].seq != b[i].seq ||
            a[i].received_us != b[i].received_us) {
            return false;
        }
    }
    return true;
}

struct TempDir {
    TempDir() {
        char templ[] = "/tmp/culex-spool-test-XXXXXX";
        path = mkdtemp(templ);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    std::string path;
};

}  // namespace

TEST_CASE("crc32 matches the standard check value", "[spool]") {
    CHECK(culex::crc32("123456789") == 0xCBF43926u);
    CHECK(culex::crc32("") == 0u);
}

TEST_CASE("a spooled batch decodes to exactly what was encoded", "[spool]") {
    auto batch = batch_of(1, 20);
    std::string file = culex::encode_spool_batch(batch);
    std::vector<Message> back;
    REQUIRE(culex::decode_spool_batch(file, back));
    CHECK(same(batch, back));
}

TEST_CASE("damaged or truncated spool data is refused", "[spool]") {
    std::string file = culex::encode_spool_batch(batch_of(1, 5));
    std::vector<Message> back;
    for (size_t cut : {size_t{0}, size_t{10}, file.size() - 1}) {
        CHECK_FALSE(culex::decode_spool_batch(std::string_view(file).substr(0, cut), back));
    }
    for (size_t at : {size_t{0}, size_t{9}, size_t{30}, file.size() - 1}) {
        std::string flipped = file;
        flipped[at] = static_cast<char>(flipped[at] ^ 0x01);
        INFO("flipped byte " << at);
        CHECK_FALSE(culex::decode_spool_batch(flipped, back));
    }
    CHECK(back.empty());
}

TEST_CASE("the spool returns batches oldest first, across reopening", "[spool]") {
    TempDir dir;
    {
        culex::Spool spool(dir.path, 1 << 20);
        REQUIRE(spool.open().is_ok());
        REQUIRE(spool.append(batch_of(1, 3)).is_ok());
        REQUIRE(spool.append(batch_of(4, 2)).is_ok());
        CHECK(spool.file_count() == 2);
        CHECK(spool.bytes() > 0);
    }
    // A write that a crash interrupted leaves a temporary file behind.
    std::ofstream(dir.path + "/0001000000000002.batch.tmp") << "half";
    culex::Spool spool(dir.path, 1 << 20);
    REQUIRE(spool.open().is_ok());
    CHECK(spool.file_count() == 2);
    CHECK_FALSE(std::filesystem::exists(dir.path + "/0001000000000002.batch.tmp"));
    REQUIRE(spool.append(batch_of(6, 1)).is_ok());
    REQUIRE(spool.prepend(batch_of(0, 1)).is_ok());  // older than everything spooled
    std::vector<Message> b;
    REQUIRE(spool.read_oldest(b));
    CHECK(same(b, batch_of(0, 1)));
    spool.remove_oldest();
    REQUIRE(spool.read_oldest(b));
    CHECK(same(b, batch_of(1, 3)));
    spool.remove_oldest();
    REQUIRE(spool.read_oldest(b));
    CHECK(same(b, batch_of(4, 2)));
    spool.remove_oldest();
    REQUIRE(spool.read_oldest(b));
    CHECK(same(b, batch_of(6, 1)));
    spool.remove_oldest();
    CHECK_FALSE(spool.read_oldest(b));
    CHECK(spool.empty());
    CHECK(spool.bytes() == 0);
}

TEST_CASE("a corrupt spool file is set aside and counted, not replayed", "[spool]") {
    TempDir dir;
    culex::Spool spool(dir.path, 1 << 20);
    REQUIRE(spool.open().is_ok());
    REQUIRE(spool.append(batch_of(1, 3)).is_ok());
    REQUIRE(spool.append(batch_of(4, 3)).is_ok());
    {
        std::fstream f(dir.path + "/0001000000000000.batch",
                       std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(40);
        f.put('\x7f');
    }
    std::vector<Message> b;
    REQUIRE(spool.read_oldest(b));
    CHECK(same(b, batch_of(4, 3)));
    CHECK(spool.corrupt_files() == 1);
    CHECK(std::filesystem::exists(dir.path + "/0001000000000000.batch.corrupt"));
}

TEST_CASE("the spool refuses batches past spool_max_bytes", "[spool]") {
    TempDir dir;
    culex::Spool spool(dir.path, 600);
    REQUIRE(spool.open().is_ok());
    REQUIRE(spool.append(batch_of(1, 5)).is_ok());
    culex::Status full = spool.append(batch_of(6, 20));
    CHECK_FALSE(full.is_ok());
    CHECK(full.message().rfind("spool_max_bytes reached", 0) == 0);
    CHECK(spool.file_count() == 1);
}

TEST_CASE("spool decoding accepts only canonical field values", "[spool]") {
    std::vector<Message> back;
    auto bad_qos = batch_of(1, 1);
    bad_qos[0].qos = 3;
    CHECK_FALSE(culex::decode_spool_batch(culex::encode_spool_batch(bad_qos), back));
    // A username after a "no username" flag: the flag byte of an encoded batch with a
    // username cleared, and the CRC made right again.
    auto named = batch_of(1, 1);
    named[0].username = "ghost";
    std::string file = culex::encode_spool_batch(named);
    REQUIRE(culex::decode_spool_batch(file, back));
    const size_t header = 24;
    const size_t flag = header + 4 + named[0].topic.size() + 4 + named[0].payload.size() + 4 +
                        named[0].client_id.size();
    REQUIRE(file[flag] == '\1');
    file[flag] = '\0';
    const uint32_t crc = culex::crc32(std::string_view(file).substr(header));
    for (int i = 0; i < 4; ++i)
        file[20 + i] = static_cast<char>(crc >> (24 - 8 * i));
    CHECK_FALSE(culex::decode_spool_batch(file, back));
}
