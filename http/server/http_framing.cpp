#include "http_framing.h"

#include <algorithm>
#include <optional>

namespace culex {
namespace {

constexpr size_t kMaxTrailerLine = 8192;
constexpr int kMaxChunkSizeDigits = 15;  // fits in 60 bits

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size())
        return false;
    for (size_t i = 0; i < a.size(); ++i) {
        char x = a[i];
        char y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = static_cast<char>(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = static_cast<char>(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return true;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

bool is_token_char(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
    if (s.empty())
        return false;
    for (char c : s) {
        if (!is_token_char(c))
            return false;
    }
    return true;
}

// Whether a comma-separated header value lists `option` (Connection: keep-alive, close).
bool has_option(std::string_view value, std::string_view option) {
    while (!value.empty()) {
        const size_t comma = value.find(',');
        if (iequals(trim(value.substr(0, comma)), option))
            return true;
        if (comma == std::string_view::npos)
            break;
        value.remove_prefix(comma + 1);
    }
    return false;
}

std::optional<uint64_t> parse_length(std::string_view text) {
    text = trim(text);
    if (text.empty() || text.size() > 18)
        return std::nullopt;
    uint64_t n = 0;
    for (char c : text) {
        if (c < '0' || c > '9')
            return std::nullopt;
        n = n * 10 + static_cast<uint64_t>(c - '0');
    }
    return n;
}

// Lines of a head: each ends at LF, with an optional CR before it, as civetweb reads them.
class Lines {
  public:
    explicit Lines(std::string_view bytes) : bytes_(bytes) {}
    // The next line, or nullopt when no LF follows within the bytes.
    std::optional<std::string_view> next() {
        const size_t lf = bytes_.find('\n', pos_);
        if (lf == std::string_view::npos)
            return std::nullopt;
        std::string_view line = bytes_.substr(pos_, lf - pos_);
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        pos_ = lf + 1;
        return line;
    }
    size_t consumed() const { return pos_; }

  private:
    std::string_view bytes_;
    size_t pos_ = 0;
};

// The headers both heads share, read the same way for requests and responses.
struct Fields {
    std::optional<uint64_t> content_length;
    bool chunked = false;
    bool has_connection = false;
    bool connection_close = false;
    bool connection_keep_alive = false;
    bool expect_continue = false;
};

// Reads header lines up to the blank one; nullopt when the head is incomplete, else the
// error text ("" when the fields are good).
std::optional<std::string> read_fields(Lines& lines, Fields& f) {
    bool has_transfer_encoding = false;
    for (;;) {
        std::optional<std::string_view> line = lines.next();
        if (!line)
            return std::nullopt;
        if (line->empty())
            break;
        if (line->front() == ' ' || line->front() == '\t')
            return std::string("folded header lines are not accepted");
        const size_t colon = line->find(':');
        if (colon == std::string_view::npos || !is_token(line->substr(0, colon)))
            return std::string("a header line is not 'Name: value'");
        const std::string_view name = line->substr(0, colon);
        const std::string_view value = trim(line->substr(colon + 1));
        if (iequals(name, "Content-Length")) {
            std::optional<uint64_t> n = parse_length(value);
            if (!n || (f.content_length && *f.content_length != *n))
                return std::string("Content-Length is not one decimal number");
            f.content_length = n;
        } else if (iequals(name, "Transfer-Encoding")) {
            if (has_transfer_encoding || !iequals(value, "chunked"))
                return std::string("the only Transfer-Encoding accepted is chunked");
            has_transfer_encoding = true;
            f.chunked = true;
        } else if (iequals(name, "Connection")) {
            f.has_connection = true;
            f.connection_close = f.connection_close || has_option(value, "close");
            f.connection_keep_alive = f.connection_keep_alive || has_option(value, "keep-alive");
        } else if (iequals(name, "Expect")) {
            f.expect_continue = iequals(value, "100-continue");
        }
    }
    if (f.chunked && f.content_length)
        return std::string("Content-Length and Transfer-Encoding together are not accepted");
    return std::string();
}

}  // namespace

RequestHead parse_request_head(std::string_view bytes, size_t max_head) {
    RequestHead head;
    Lines lines(bytes.substr(0, max_head));
    std::optional<std::string_view> request_line = lines.next();
    if (!request_line)
        return head;
    const auto bad = [&head](int status, std::string detail) {
        head.parse = RequestHead::Parse::kBad;
        head.error_status = status;
        head.error = std::move(detail);
        return head;
    };
    const size_t sp1 = request_line->find(' ');
    const size_t sp2 = sp1 == std::string_view::npos ? sp1 : request_line->find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || sp2 == sp1 + 1 ||
        request_line->find(' ', sp2 + 1) != std::string_view::npos)
        return bad(400, "the request line is not 'METHOD target HTTP/1.1'");
    const std::string_view method = request_line->substr(0, sp1);
    const std::string_view version = request_line->substr(sp2 + 1);
    if (!is_token(method))
        return bad(400, "the request method is not a token");
    if (version != "HTTP/1.1" && version != "HTTP/1.0") {
        if (version.substr(0, 5) == "HTTP/")
            return bad(505, "only HTTP/1.1 and HTTP/1.0 are served");
        return bad(400, "the request line is not 'METHOD target HTTP/1.1'");
    }
    Fields f;
    std::optional<std::string> error = read_fields(lines, f);
    if (!error)
        return head;
    if (!error->empty())
        return bad(400, *error);
    head.parse = RequestHead::Parse::kComplete;
    head.size = lines.consumed();
    head.method = std::string(method);
    // As civetweb decides (should_keep_alive): the Connection header if there is one,
    // else the version's default.
    head.keep_alive = f.has_connection ? f.connection_keep_alive : version == "HTTP/1.1";
    head.expect_continue = f.expect_continue;
    if (f.chunked) {
        head.body = BodyFraming::kChunked;
    } else if (f.content_length && *f.content_length > 0) {
        head.body = BodyFraming::kLength;
        head.content_length = *f.content_length;
    }
    return head;
}

ResponseHead parse_response_head(std::string_view bytes, bool to_head) {
    ResponseHead head;
    Lines lines(bytes);
    std::optional<std::string_view> status_line = lines.next();
    if (!status_line)
        return head;
    if (status_line->size() < 12 || status_line->substr(0, 7) != "HTTP/1." ||
        (*status_line)[8] != ' ') {
        head.parse = ResponseHead::Parse::kBad;
        return head;
    }
    int status = 0;
    for (size_t i = 9; i < 12; ++i) {
        const char c = (*status_line)[i];
        if (c < '0' || c > '9') {
            head.parse = ResponseHead::Parse::kBad;
            return head;
        }
        status = status * 10 + (c - '0');
    }
    Fields f;
    std::optional<std::string> error = read_fields(lines, f);
    if (!error)
        return head;
    if (!error->empty()) {
        head.parse = ResponseHead::Parse::kBad;
        return head;
    }
    head.parse = ResponseHead::Parse::kComplete;
    head.size = lines.consumed();
    head.status = status;
    head.keep_alive = !f.connection_close;
    if (to_head || status < 200 || status == 204 || status == 304) {
        head.body = BodyFraming::kNone;
    } else if (f.chunked) {
        head.body = BodyFraming::kChunked;
    } else if (f.content_length) {
        head.body = *f.content_length > 0 ? BodyFraming::kLength : BodyFraming::kNone;
        head.content_length = *f.content_length;
    } else {
        head.body = BodyFraming::kUntilClose;
    }
    return head;
}

size_t ChunkedReader::feed(std::string_view bytes) {
    size_t i = 0;
    while (i < bytes.size() && state_ != State::kDone && state_ != State::kFailed) {
        const char c = bytes[i];
        switch (state_) {
            case State::kSize: {
                int digit = -1;
                if (c >= '0' && c <= '9')
                    digit = c - '0';
                else if (c >= 'a' && c <= 'f')
                    digit = c - 'a' + 10;
                else if (c >= 'A' && c <= 'F')
                    digit = c - 'A' + 10;
                if (digit >= 0 && size_digits_ < kMaxChunkSizeDigits) {
                    chunk_left_ = chunk_left_ * 16 + static_cast<uint64_t>(digit);
                    ++size_digits_;
                } else if (c == '\r' && size_digits_ > 0) {
                    state_ = State::kSizeLf;
                } else {
                    state_ = State::kFailed;
                }
                ++i;
                break;
            }
            case State::kSizeLf:
                if (c != '\n') {
                    state_ = State::kFailed;
                } else if (chunk_left_ == 0) {
                    state_ = State::kTrailer;
                    trailer_line_ = 0;
                } else {
                    state_ = State::kData;
                }
                ++i;
                break;
            case State::kData: {
                const size_t take = static_cast<size_t>(
                    std::min<uint64_t>(chunk_left_, static_cast<uint64_t>(bytes.size() - i)));
                chunk_left_ -= take;
                data_bytes_ += take;
                i += take;
                if (chunk_left_ == 0)
                    state_ = State::kDataCr;
                break;
            }
            case State::kDataCr:
                state_ = c == '\r' ? State::kDataLf : State::kFailed;
                ++i;
                break;
            case State::kDataLf:
                state_ = c == '\n' ? State::kSize : State::kFailed;
                size_digits_ = 0;
                ++i;
                break;
            case State::kTrailer:
                if (c == '\n') {
                    state_ = trailer_line_ == 0 ? State::kDone : State::kTrailer;
                    trailer_line_ = 0;
                } else if (c != '\r' && ++trailer_line_ > kMaxTrailerLine) {
                    state_ = State::kFailed;
                }
                ++i;
                break;
            case State::kDone:
            case State::kFailed:
                break;
        }
    }
    return i;
}

}  // namespace culex
