// Errors as values across part boundaries. A Status is either ok or carries a
// one-line, human-readable message meant for the admin's log.
#pragma once

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

// A value or the Status saying why there is none.
template <typename T>
class Result {
  public:
    Result(T value)
        : value_(std::move(value)), status_(Status::ok()) {}  // NOLINT: implicit by design
    Result(Status error) : status_(std::move(error)) {}       // NOLINT: implicit by design

    bool is_ok() const { return value_.has_value(); }
    const Status& status() const { return status_; }
    T& value() { return *value_; }
    const T& value() const { return *value_; }

  private:
    std::optional<T> value_;
    Status status_;
};

}  // namespace culex
