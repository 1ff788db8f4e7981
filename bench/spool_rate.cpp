// The disk spool's own sustained rate, without the broker or the database: batches of
// the writer's default size (5,000 messages of 100-byte payloads on 1,000 topics) are
// appended (each file written, fsynced, renamed, the directory fsynced) and then read
// back and removed, oldest first, as the writer does during and after an outage.
//
// Usage: spool_rate DIR [MESSAGES] [BATCH]   (defaults 1,000,000 and 5,000)
// DIR should be on the disk the spool would use; the bench empties and reuses it.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "storage/spool.h"

using namespace culex;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: spool_rate DIR [MESSAGES] [BATCH]\n");
        return 2;
    }
    const std::string dir = argv[1];
    const long messages = argc > 2 ? std::atol(argv[2]) : 1000000;
    const long batch_size = argc > 3 ? std::atol(argv[3]) : 5000;
    std::vector<Message> batch(static_cast<size_t>(batch_size));
    for (long i = 0; i < batch_size; ++i) {
        Message& m = batch[static_cast<size_t>(i)];
        m.topic = "bench/t" + std::to_string(i % 1000);
        m.payload = std::string(100, static_cast<char>('a' + i % 26));
        m.client_id = "bench-device";
        m.qos = 1;
        m.seq = static_cast<uint64_t>(i + 1);
        m.received_us = 1796000000000000 + i;
    }
    Spool spool(dir, uint64_t{1} << 40);
    if (Status opened = spool.open(); !opened.is_ok()) {
        std::fprintf(stderr, "%s\n", opened.message().c_str());
        return 1;
    }
    while (!spool.empty())
        spool.remove_oldest();
    const long batches = messages / batch_size;
    auto t0 = std::chrono::steady_clock::now();
    for (long b = 0; b < batches; ++b) {
        if (Status stored = spool.append(batch); !stored.is_ok()) {
            std::fprintf(stderr, "append: %s\n", stored.message().c_str());
            return 1;
        }
    }
    const double write_s = seconds_since(t0);
    const double bytes = static_cast<double>(spool.bytes());
    t0 = std::chrono::steady_clock::now();
    long read = 0;
    std::vector<Message> back;
    while (spool.read_oldest(back)) {
        read += static_cast<long>(back.size());
        spool.remove_oldest();
    }
    const double read_s = seconds_since(t0);
    const long written = batches * batch_size;
    std::printf("spool_append_msgs_per_s=%.0f (%ld messages in %ld files of %ld, %.1f MB/s)\n",
                static_cast<double>(written) / write_s, written, batches, batch_size,
                bytes / write_s / 1e6);
    std::printf("spool_read_back_msgs_per_s=%.0f (%ld messages)\n",
                static_cast<double>(read) / read_s, read);
    return read == written ? 0 : 1;
}
