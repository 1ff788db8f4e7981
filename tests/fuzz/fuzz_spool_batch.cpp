// libFuzzer target: the spool reader never crashes on damaged files, and whatever it
// accepts encodes back to exactly the same bytes. Inputs starting with an odd byte
// get a valid header and checksum around the rest, so the fuzzer reaches the body
// parser instead of stopping at the CRC.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "storage/spool.h"

namespace {

void put_u32(std::string& out, uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8)
        out.push_back(static_cast<char>(v >> shift));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string input(reinterpret_cast<const char*>(data), size);
    if (size >= 2 && (data[0] & 1) != 0) {
        std::string body = input.substr(2);
        std::string file = "CULEXSP1";
        put_u32(file, data[1]);  // message count
        put_u32(file, 0);
        put_u32(file, static_cast<uint32_t>(body.size()));
        put_u32(file, culex::crc32(body));
        input = file + body;
    }
    std::vector<culex::Message> batch;
    if (culex::decode_spool_batch(input, batch) && culex::encode_spool_batch(batch) != input) {
        std::abort();
    }
    return 0;
}
