// One send attempt of a claimed webhook, e-mail or SMS delivery: a libcurl easy handle
// with everything it points to. Built from the delivery's stored request and the
// admin's settings; owned and driven by the dispatcher thread.
//
// Webhooks go only where the target policy allows: the host name is checked before
// connecting and the address at connect time; environment proxies are ignored (they
// would hide the real target). SMTP and SMS servers are the admin's own settings and
// are not subject to the policy.
#pragma once

#include <curl/curl.h>

#include <memory>
#include <optional>
#include <string>

#include "common/config.h"
#include "common/status.h"
#include "storage/delivery_store.h"
#include "target_policy.h"

namespace culex {

struct AttemptResult {
    bool delivered = false;
    bool permanent = false;     // retrying cannot help: dead now
    std::optional<int> status;  // HTTP status or last SMTP reply code
    std::string error;          // one line, for last_error
};

class Transfer {
  public:
    // An error means the delivery cannot be sent as stored or configured (permanent).
    static Result<std::unique_ptr<Transfer>> prepare(const DeliveryRow& delivery,
                                                     const Config& config,
                                                     const TargetPolicy& policy);
    ~Transfer();
    Transfer(const Transfer&) = delete;
    Transfer& operator=(const Transfer&) = delete;

    CURL* easy() const { return easy_; }
    int64_t delivery_id() const { return delivery_id_; }
    const std::string& target() const { return target_; }
    // What the finished attempt came to, given libcurl's result code.
    AttemptResult result(CURLcode code) const;

  private:
    Transfer() = default;
    Status prepare_webhook(const DeliveryRow& d);
    Status prepare_email(const DeliveryRow& d, const Config& config);
    Status prepare_sms(const DeliveryRow& d, const Config& config);
    void set_common(const Config& config);
    static size_t on_write(char* data, size_t size, size_t count, void* self);
    static size_t on_read(char* buffer, size_t size, size_t count, void* self);
    static curl_socket_t on_open_socket(void* self, curlsocktype purpose, curl_sockaddr* address);

    CURL* easy_ = nullptr;
    curl_slist* headers_ = nullptr;
    curl_slist* recipients_ = nullptr;
    int64_t delivery_id_ = 0;
    DeliveryKind kind_ = DeliveryKind::kWebhook;
    std::string target_;
    std::string url_;
    std::string body_;
    size_t body_sent_ = 0;
    std::string response_;  // the first bytes of the answer, for last_error
    char error_buffer_[CURL_ERROR_SIZE] = {};
    const TargetPolicy* policy_ = nullptr;
    bool check_address_ = false;
    std::string refused_address_;
};

}  // namespace culex
