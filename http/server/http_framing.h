// Where an HTTP/1.x message ends, for the front end (frontend.h), which must know that
// without handing the connection to civetweb: the request head's few headers that decide
// framing and keep-alive, the response head's, and an incremental reader of chunked
// bodies. Parsing is strict where a lax reading could make the front end and civetweb
// disagree on where a request ends (Content-Length and Transfer-Encoding together, a
// Content-Length that is not all digits, header folding): those are errors, answered 400.
// Pure functions and plain values, any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace culex {

enum class BodyFraming {
    kNone,        // no body (a request without length, HEAD's answer, 1xx, 204, 304)
    kLength,      // Content-Length bytes
    kChunked,     // Transfer-Encoding: chunked, up to the last chunk and trailers
    kUntilClose,  // a response without length: the body ends when the server closes
};

struct RequestHead {
    enum class Parse { kIncomplete, kComplete, kBad };
    Parse parse = Parse::kIncomplete;
    int error_status = 400;  // kBad: 400, or 505 for another HTTP version
    std::string error;       // kBad: what was wrong, for the answer's detail
    size_t size = 0;         // bytes up to and including the blank line
    std::string method;
    bool keep_alive = false;  // what the client asks for (version and Connection)
    bool expect_continue = false;
    BodyFraming body = BodyFraming::kNone;
    uint64_t content_length = 0;  // kLength only
};

// Reads the head at the start of `bytes` (leading empty lines already removed). Only
// the first `max_head` bytes are looked at: a head not complete within them stays
// kIncomplete, and the caller decides it is too large.
RequestHead parse_request_head(std::string_view bytes, size_t max_head);

struct ResponseHead {
    enum class Parse { kIncomplete, kComplete, kBad };
    Parse parse = Parse::kIncomplete;
    size_t size = 0;
    int status = 0;
    bool keep_alive = false;  // the server did not say Connection: close
    BodyFraming body = BodyFraming::kNone;
    uint64_t content_length = 0;
};

// Reads a response head; `to_head` is true when it answers a HEAD request (no body
// whatever the headers say).
ResponseHead parse_response_head(std::string_view bytes, bool to_head);

// Follows a chunked body as its bytes arrive, to find its end and count its data. Chunk
// extensions fail, as they do in civetweb 1.15, which reads `hex digits CRLF` only;
// trailers are skipped.
class ChunkedReader {
  public:
    // Consumes bytes of the body up to its end; returns how many were part of it (less
    // than bytes.size() only once done() or failed()).
    size_t feed(std::string_view bytes);
    bool done() const { return state_ == State::kDone; }
    bool failed() const { return state_ == State::kFailed; }
    uint64_t data_bytes() const { return data_bytes_; }

  private:
    enum class State { kSize, kSizeLf, kData, kDataCr, kDataLf, kTrailer, kDone, kFailed };
    State state_ = State::kSize;
    uint64_t chunk_left_ = 0;
    uint64_t data_bytes_ = 0;
    int size_digits_ = 0;
    size_t trailer_line_ = 0;  // bytes in the current trailer line, before its LF
};

}  // namespace culex
