#include "spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace culex {
namespace {

constexpr char kMagic[8] = {'C', 'U', 'L', 'E', 'X', 'S', 'P', '1'};
constexpr size_t kHeaderSize = 8 + 4 + 8 + 4;  // magic, count, body length, crc
constexpr const char* kSuffix = ".batch";
constexpr const char* kTempSuffix = ".tmp";

void put_u32(std::string& out, uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8)
        out.push_back(static_cast<char>(v >> shift));
}

void put_u64(std::string& out, uint64_t v) {
    put_u32(out, static_cast<uint32_t>(v >> 32));
    put_u32(out, static_cast<uint32_t>(v));
}

void put_bytes(std::string& out, const std::string& s) {
    put_u32(out, static_cast<uint32_t>(s.size()));
    out.append(s);
}

// Reads from a bounded view; every getter fails once the data runs out.
class Reader {
  public:
    explicit Reader(std::string_view data) : data_(data) {}
    bool u8(uint8_t& v) {
        if (data_.size() < 1)
            return false;
        v = static_cast<uint8_t>(data_[0]);
        data_.remove_prefix(1);
        return true;
    }
    bool u32(uint32_t& v) {
        if (data_.size() < 4)
            return false;
        v = 0;
        for (int i = 0; i < 4; ++i)
            v = (v << 8) | static_cast<uint8_t>(data_[static_cast<size_t>(i)]);
        data_.remove_prefix(4);
        return true;
    }
    bool u64(uint64_t& v) {
        uint32_t hi = 0;
        uint32_t lo = 0;
        if (!u32(hi) || !u32(lo))
            return false;
        v = (static_cast<uint64_t>(hi) << 32) | lo;
        return true;
    }
    bool bytes(std::string& s) {
        uint32_t n = 0;
        if (!u32(n) || data_.size() < n)
            return false;
        s.assign(data_.substr(0, n));
        data_.remove_prefix(n);
        return true;
    }
    bool done() const { return data_.empty(); }

  private:
    std::string_view data_;
};

bool write_all(int fd, const std::string& data) {
    size_t off = 0;
    while (off < data.size()) {
        ssize_t n = ::write(fd, data.data() + off, data.size() - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        off += static_cast<size_t>(n);
    }
    return true;
}

bool read_file(const std::string& path, std::string& out) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    out.clear();
    char buf[1 << 16];
    while (true) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        out.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return true;
}

void fsync_dir(const std::string& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return;
    ::fsync(fd);
    ::close(fd);
}

}  // namespace

uint32_t crc32(std::string_view data) {
    static const std::array<uint32_t, 256> kTable = [] {
        std::array<uint32_t, 256> table{};
        for (uint32_t i = 0; i < 256; ++i) {
            uint32_t c = i;
            for (int k = 0; k < 8; ++k)
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        return table;
    }();
    uint32_t crc = 0xFFFFFFFFu;
    for (char ch : data)
        crc = kTable[(crc ^ static_cast<uint8_t>(ch)) & 0xFF] ^ (crc >> 8);
    return crc ^ 0xFFFFFFFFu;
}

std::string encode_spool_batch(const std::vector<Message>& batch) {
    std::string body;
    for (const Message& m : batch) {
        put_bytes(body, m.topic);
        put_bytes(body, m.payload);
        put_bytes(body, m.client_id);
        body.push_back(m.username ? '\1' : '\0');
        put_bytes(body, m.username.value_or(""));
        body.push_back(static_cast<char>(m.qos));
        body.push_back(m.retain ? '\1' : '\0');
        put_u64(body, m.seq);
        put_u64(body, static_cast<uint64_t>(m.received_us));
    }
    std::string file(kMagic, sizeof kMagic);
    put_u32(file, static_cast<uint32_t>(batch.size()));
    put_u64(file, body.size());
    put_u32(file, crc32(body));
    file.append(body);
    return file;
}

bool decode_spool_batch(std::string_view file, std::vector<Message>& batch) {
    batch.clear();
    if (file.size() < kHeaderSize || std::memcmp(file.data(), kMagic, sizeof kMagic) != 0) {
        return false;
    }
    Reader header(file.substr(sizeof kMagic, kHeaderSize - sizeof kMagic));
    uint32_t count = 0;
    uint64_t body_size = 0;
    uint32_t crc = 0;
    header.u32(count);
    header.u64(body_size);
    header.u32(crc);
    std::string_view body = file.substr(kHeaderSize);
    if (body.size() != body_size || crc32(body) != crc)
        return false;
    Reader r(body);
    for (uint32_t i = 0; i < count; ++i) {
        Message m;
        uint8_t has_username = 0;
        std::string username;
        uint8_t qos = 0;
        uint8_t retain = 0;
        uint64_t received = 0;
        if (!r.bytes(m.topic) || !r.bytes(m.payload) || !r.bytes(m.client_id) ||
            !r.u8(has_username) || !r.bytes(username) || !r.u8(qos) || !r.u8(retain) ||
            !r.u64(m.seq) || !r.u64(received) || has_username > 1 || retain > 1 || qos > 2 ||
            (has_username == 0 && !username.empty())) {
            batch.clear();
            return false;
        }
        if (has_username != 0)
            m.username = std::move(username);
        m.qos = qos;
        m.retain = retain != 0;
        m.received_us = static_cast<int64_t>(received);
        batch.push_back(std::move(m));
    }
    if (!r.done()) {
        batch.clear();
        return false;
    }
    return true;
}

Spool::Spool(std::string dir, uint64_t max_bytes) : dir_(std::move(dir)), max_bytes_(max_bytes) {}

std::string Spool::path_of(uint64_t number) const {
    char name[32];
    std::snprintf(name, sizeof name, "%016" PRIu64, number);
    return dir_ + "/" + name + kSuffix;
}

Status Spool::open() {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec)
        return Status::error("cannot create " + dir_ + ": " + ec.message());
    if (::access(dir_.c_str(), W_OK | X_OK) != 0) {
        return Status::error(dir_ + " is not writable: " + std::strerror(errno));
    }
    for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.size() > std::strlen(kTempSuffix) &&
            name.compare(name.size() - std::strlen(kTempSuffix), std::string::npos, kTempSuffix) ==
                0) {
            std::filesystem::remove(entry.path(), ec);  // a write a crash interrupted
            continue;
        }
        uint64_t number = 0;
        char suffix[16] = {};
        if (std::sscanf(name.c_str(), "%16" SCNu64 "%15s", &number, suffix) == 2 &&
            std::strcmp(suffix, kSuffix) == 0) {
            uint64_t size = entry.file_size(ec);
            files_.push_back({number, size});
            bytes_ += size;
        }
    }
    if (ec)
        return Status::error("cannot read " + dir_ + ": " + ec.message());
    std::sort(files_.begin(), files_.end(),
              [](const File& a, const File& b) { return a.number < b.number; });
    if (!files_.empty())
        next_number_ = files_.back().number + 1;
    return Status::ok();
}

Status Spool::write_file(uint64_t number, const std::vector<Message>& batch, uint64_t& size) {
    std::string data = encode_spool_batch(batch);
    if (bytes_ + data.size() > max_bytes_) {
        return Status::error("spool_max_bytes reached (" + std::to_string(bytes_) + " bytes in " +
                             std::to_string(files_.size()) + " files)");
    }
    const std::string path = path_of(number);
    const std::string temp = path + kTempSuffix;
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return Status::error("cannot create " + temp + ": " + std::strerror(errno));
    bool ok = write_all(fd, data) && ::fsync(fd) == 0;
    int saved_errno = errno;
    ::close(fd);
    if (!ok || ::rename(temp.c_str(), path.c_str()) != 0) {
        if (ok)
            saved_errno = errno;
        ::unlink(temp.c_str());
        return Status::error("cannot write " + path + ": " + std::strerror(saved_errno));
    }
    fsync_dir(dir_);
    size = data.size();
    bytes_ += size;
    return Status::ok();
}

Status Spool::append(const std::vector<Message>& batch) {
    uint64_t size = 0;
    Status written = write_file(next_number_, batch, size);
    if (written.is_ok())
        files_.push_back({next_number_++, size});
    return written;
}

Status Spool::prepend(const std::vector<Message>& batch) {
    if (files_.empty())
        return append(batch);
    uint64_t number = files_.front().number - 1;
    uint64_t size = 0;
    Status written = write_file(number, batch, size);
    if (written.is_ok())
        files_.push_front({number, size});
    return written;
}

void Spool::set_aside(const File& file) {
    const std::string path = path_of(file.number);
    ::rename(path.c_str(), (path + ".corrupt").c_str());
    ++corrupt_;
}

bool Spool::read_oldest(std::vector<Message>& batch) {
    std::string data;
    while (!files_.empty()) {
        const File file = files_.front();
        if (read_file(path_of(file.number), data) && decode_spool_batch(data, batch))
            return true;
        set_aside(file);
        bytes_ -= file.size;
        files_.pop_front();
    }
    batch.clear();
    return false;
}

void Spool::remove_oldest() {
    if (files_.empty())
        return;
    ::unlink(path_of(files_.front().number).c_str());
    bytes_ -= files_.front().size;
    files_.pop_front();
}

}  // namespace culex
