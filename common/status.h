// Errors as values across part boundaries. A Status is either ok or carries a
// one-line, human-readable message meant for the admin's log.
#pragma once

#include <concepts>
#include <optional>
#include <string>
#include <utility>

namespace culex {

class Status {
  public:
    static Status ok() { return Status(); }
    static Status error(std::string message) { return Status(std::move(message)); }

    bool is_ok() const { return !message_.has_value(); }
    const std::string& message() const {
        static const std::string kEmpty;
        return message_ ? *message_ : kEmpty;
    }

  private:
    Status() = default;
    explicit Status(std::string message) : message_(std::move(message)) {}
    std::optional<std::string> message_;
};

// What a step that can fail gives when it succeeds with nothing to return.
struct Done {};

// A value, or the error saying why there is none: a Status across part boundaries, or
// the Response a route handler answers with (http/routes/replies.h).
template <typename T, typename E = Status>
class Result {
  public:
    Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
    Result(E error) : error_(std::move(error)) {}  // NOLINT: implicit by design

    bool is_ok() const { return value_.has_value(); }
    T& value() { return *value_; }
    const T& value() const { return *value_; }
    // Only when !is_ok().
    E& error() { return *error_; }
    const E& error() const { return *error_; }
    // Ok when there is a value, else the error (Status errors only).
    const Status& status() const requires std::same_as<E, Status> {
        static const Status kOk = Status::ok();
        return error_ ? *error_ : kOk;
    }

  private:
    std::optional<T> value_;
    std::optional<E> error_;
};

}  // namespace culex
