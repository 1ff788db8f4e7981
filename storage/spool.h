// Batches kept on disk while PostgreSQL is unreachable (the `spool_dir` option).
//
// Each batch is one file, written to a temporary name, fsynced and renamed, so a crash
// leaves either the whole file or none (unfinished temporary files are removed at
// open). Every file carries a CRC-32 of its content; a file that fails it is renamed
// to `*.corrupt`, counted and skipped rather than replayed as garbage. Files are read
// back oldest first. Owned and used by the storage writer thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "common/message.h"
#include "common/status.h"

namespace culex {

// CRC-32 (IEEE 802.3, as zlib computes it).
uint32_t crc32(std::string_view data);

// The spool file format; pure functions, exposed for tests.
std::string encode_spool_batch(const std::vector<Message>& batch);
// False when `file` is not a complete, intact, canonical spool batch (so whatever it
// accepts encodes back to the same bytes).
bool decode_spool_batch(std::string_view file, std::vector<Message>& batch);

class Spool {
  public:
    Spool(std::string dir, uint64_t max_bytes);
    Spool(const Spool&) = delete;
    Spool& operator=(const Spool&) = delete;

    // Creates the directory if needed, removes unfinished temporary files and finds
    // the batches a previous run left. An error means the directory is unusable.
    Status open();

    // Stores the batch as the newest file. On error (spool_max_bytes reached, disk
    // full, I/O error) nothing was stored and the caller keeps the batch.
    Status append(const std::vector<Message>& batch);
    // Stores the batch as the oldest file (for messages older than everything spooled).
    Status prepend(const std::vector<Message>& batch);

    bool empty() const { return files_.empty(); }
    size_t file_count() const { return files_.size(); }
    uint64_t bytes() const { return bytes_; }
    uint64_t corrupt_files() const { return corrupt_; }

    // Reads the oldest intact batch into `batch` (replacing its content). Corrupt files
    // met on the way are set aside. Returns false when no batch is left.
    bool read_oldest(std::vector<Message>& batch);
    // Deletes the oldest batch once it is safely in PostgreSQL.
    void remove_oldest();

  private:
    struct File {
        uint64_t number;
        uint64_t size;
    };
    Status write_file(uint64_t number, const std::vector<Message>& batch, uint64_t& size);
    std::string path_of(uint64_t number) const;
    void set_aside(const File& file);

    const std::string dir_;
    const uint64_t max_bytes_;
    std::deque<File> files_;  // oldest first
    uint64_t bytes_ = 0;
    // File numbers start high so that prepend always has room below the oldest.
    uint64_t next_number_ = 1000000000000;
    uint64_t corrupt_ = 0;
};

}  // namespace culex
