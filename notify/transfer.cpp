#include "transfer.h"

#include <arpa/inet.h>
#include <openssl/hmac.h>
#include <rapidjson/document.h>
#include <sys/socket.h>

#include <cstring>
#include <ctime>

#include "common/base64.h"
#include "common/clock.h"
#include "common/hex.h"
#include "recipients.h"
#include "rule.h"

namespace culex {
namespace {

constexpr size_t kMaxResponseKept = 300;

std::string member(const rapidjson::Value& o, const char* key) {
    auto it = o.FindMember(key);
    if (it == o.MemberEnd() || !it->value.IsString())
        return "";
    return std::string(it->value.GetString(), it->value.GetStringLength());
}

// HMAC-SHA256 of "<timestamp>.<body>", hex: what Culex-Signature carries.
std::string sign(const std::string& secret, const std::string& timestamp, const std::string& body) {
    const std::string signed_text = timestamp + "." + body;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(signed_text.data()), signed_text.size(), mac,
         &mac_len);
    return hex_encode(std::string_view(reinterpret_cast<const char*>(mac), mac_len));
}

// RFC 2047 for a header that is not plain ASCII; line breaks become spaces.
std::string header_text(std::string text) {
    for (char& c : text) {
        if (c == '\r' || c == '\n')
            c = ' ';
    }
    for (unsigned char c : text) {
        if (c >= 0x80)
            return "=?UTF-8?B?" + base64_encode(text) + "?=";
    }
    return text;
}

std::string rfc5322_date() {
    const std::time_t now = wall_clock_us() / 1000000;
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    return buf;
}

std::string domain_of(const std::string& address) {
    const size_t at = address.rfind('@');
    return at == std::string::npos ? "culex.invalid" : address.substr(at + 1);
}

}  // namespace

Transfer::~Transfer() {
    if (easy_ != nullptr)
        curl_easy_cleanup(easy_);
    curl_slist_free_all(headers_);
    curl_slist_free_all(recipients_);
}

Result<std::unique_ptr<Transfer>> Transfer::prepare(const DeliveryRow& d, const Config& config,
                                                    const TargetPolicy& policy) {
    std::unique_ptr<Transfer> t(new Transfer());
    t->delivery_id_ = d.id;
    t->kind_ = d.kind;
    t->target_ = d.target;
    t->policy_ = &policy;
    t->easy_ = curl_easy_init();
    if (t->easy_ == nullptr)
        return Status::error("libcurl could not start a transfer");
    t->set_common(config);
    Status prepared = Status::error(std::string("a ") + delivery_kind_name(d.kind) +
                                    " delivery is not sent over the network");
    if (d.kind == DeliveryKind::kWebhook)
        prepared = t->prepare_webhook(d);
    else if (d.kind == DeliveryKind::kEmail)
        prepared = t->prepare_email(d, config);
    else if (d.kind == DeliveryKind::kSms)
        prepared = t->prepare_sms(d, config);
    if (!prepared.is_ok())
        return prepared;
    return t;
}

void Transfer::set_common(const Config& config) {
    curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy_, CURLOPT_PRIVATE, this);
    curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, error_buffer_);
    curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, static_cast<long>(config.delivery_timeout_ms));
    curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::min<int64_t>(config.delivery_timeout_ms, 5000)));
    curl_easy_setopt(easy_, CURLOPT_PROXY, "");
    curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &Transfer::on_write);
    curl_easy_setopt(easy_, CURLOPT_WRITEDATA, this);
    if (!config.delivery_ca_file.empty())
        curl_easy_setopt(easy_, CURLOPT_CAINFO, config.delivery_ca_file.c_str());
}

Status Transfer::prepare_webhook(const DeliveryRow& d) {
    rapidjson::Document r;
    r.Parse(d.request_json.data(), d.request_json.size());
    if (r.HasParseError() || !r.IsObject())
        return Status::error("the stored webhook request is not a JSON object");
    url_ = member(r, "url");
    std::string host;
    Result<std::string> target = webhook_target(url_, &host);
    if (!target.is_ok())
        return Status::error("url " + target.status().message());
    const TargetPolicy::Verdict verdict = policy_->check_host(host);
    if (verdict == TargetPolicy::Verdict::kDeny)
        return Status::error("the target '" + host +
                             "' is not allowed (delivery_allow, delivery_deny)");
    check_address_ = verdict == TargetPolicy::Verdict::kByAddress;
    body_ = member(r, "body");
    const std::string method = member(r, "method");
    curl_easy_setopt(easy_, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy_, CURLOPT_OPENSOCKETFUNCTION, &Transfer::on_open_socket);
    curl_easy_setopt(easy_, CURLOPT_OPENSOCKETDATA, this);
    if (method == "GET") {
        curl_easy_setopt(easy_, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, body_.c_str());
        curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body_.size()));
        if (method != "POST")
            curl_easy_setopt(easy_, CURLOPT_CUSTOMREQUEST, method.c_str());
    }
    bool has_content_type = false;
    auto extra = r.FindMember("headers");
    if (extra != r.MemberEnd() && extra->value.IsObject()) {
        for (auto h = extra->value.MemberBegin(); h != extra->value.MemberEnd(); ++h) {
            const std::string name(h->name.GetString(), h->name.GetStringLength());
            if (strcasecmp(name.c_str(), "content-type") == 0)
                has_content_type = true;
            const std::string line =
                name + ": " + (h->value.IsString() ? h->value.GetString() : "");
            headers_ = curl_slist_append(headers_, line.c_str());
        }
    }
    if (!has_content_type)
        headers_ = curl_slist_append(headers_, "Content-Type: application/json");
    headers_ = curl_slist_append(headers_, "Expect:");
    headers_ = curl_slist_append(headers_, "User-Agent: culex");
    headers_ = curl_slist_append(headers_, ("Culex-Delivery: " + std::to_string(d.id)).c_str());
    headers_ =
        curl_slist_append(headers_, ("Culex-Attempt: " + std::to_string(d.attempts)).c_str());
    if (d.rule_name)
        headers_ =
            curl_slist_append(headers_, ("Culex-Rule: " + header_text(*d.rule_name)).c_str());
    const std::string secret = member(r, "secret");
    if (!secret.empty()) {
        const std::string timestamp = std::to_string(wall_clock_us() / 1000000);
        headers_ = curl_slist_append(headers_, ("Culex-Timestamp: " + timestamp).c_str());
        headers_ = curl_slist_append(
            headers_, ("Culex-Signature: sha256=" + sign(secret, timestamp, body_)).c_str());
    }
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_);
    return Status::ok();
}

Status Transfer::prepare_email(const DeliveryRow& d, const Config& config) {
    if (config.smtp_url.empty() || config.smtp_from.empty())
        return Status::error(
            "e-mail is not configured (plugin_opt_smtp_url, plugin_opt_smtp_from)");
    rapidjson::Document r;
    r.Parse(d.request_json.data(), d.request_json.size());
    auto to = r.IsObject() ? r.FindMember("to") : r.MemberEnd();
    if (r.HasParseError() || !r.IsObject() || to == r.MemberEnd() || !to->value.IsArray())
        return Status::error("the stored e-mail request is malformed");
    std::string to_header;
    for (const auto& address : to->value.GetArray()) {
        if (!address.IsString() || !validate_email_address(address.GetString()).is_ok())
            return Status::error("the stored e-mail request has a bad recipient");
        recipients_ =
            curl_slist_append(recipients_, (std::string("<") + address.GetString() + ">").c_str());
        to_header += (to_header.empty() ? "" : ", ") + std::string(address.GetString());
    }
    // The text travels base64-encoded: any bytes and line lengths survive every server.
    const std::string text = base64_encode(member(r, "text"));
    body_ = "Date: " + rfc5322_date() + "\r\nFrom: " + config.smtp_from + "\r\nTo: " + to_header +
            "\r\nSubject: " + header_text(member(r, "subject")) + "\r\nMessage-ID: <culex." +
            std::to_string(d.id) + "@" + domain_of(config.smtp_from) +
            ">\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n";
    for (size_t at = 0; at < text.size(); at += 76)
        body_ += text.substr(at, 76) + "\r\n";
    curl_easy_setopt(easy_, CURLOPT_URL, config.smtp_url.c_str());
    curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(easy_, CURLOPT_MAIL_FROM, ("<" + config.smtp_from + ">").c_str());
    curl_easy_setopt(easy_, CURLOPT_MAIL_RCPT, recipients_);
    curl_easy_setopt(easy_, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(easy_, CURLOPT_READFUNCTION, &Transfer::on_read);
    curl_easy_setopt(easy_, CURLOPT_READDATA, this);
    curl_easy_setopt(easy_, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(body_.size()));
    if (config.smtp_url.rfind("smtps://", 0) != 0)
        curl_easy_setopt(easy_, CURLOPT_USE_SSL,
                         config.smtp_starttls ? CURLUSESSL_ALL : CURLUSESSL_NONE);
    if (!config.smtp_username.empty()) {
        curl_easy_setopt(easy_, CURLOPT_USERNAME, config.smtp_username.c_str());
        curl_easy_setopt(easy_, CURLOPT_PASSWORD, config.smtp_password.c_str());
    }
    return Status::ok();
}

Status Transfer::prepare_sms(const DeliveryRow& d, const Config& config) {
    if (config.sms_account_sid.empty() || config.sms_auth_token.empty() || config.sms_from.empty())
        return Status::error(
            "SMS is not configured (plugin_opt_sms_account_sid, plugin_opt_sms_auth_token, "
            "plugin_opt_sms_from)");
    rapidjson::Document r;
    r.Parse(d.request_json.data(), d.request_json.size());
    if (r.HasParseError() || !r.IsObject())
        return Status::error("the stored SMS request is malformed");
    auto field = [&](const std::string& name, const std::string& value) {
        char* escaped = curl_easy_escape(easy_, value.data(), static_cast<int>(value.size()));
        std::string out = name + "=" + (escaped != nullptr ? escaped : "");
        curl_free(escaped);
        return out;
    };
    body_ = field("To", member(r, "to")) + "&" + field("From", config.sms_from) + "&" +
            field("Body", member(r, "text"));
    url_ = config.sms_url + "/2010-04-01/Accounts/" + config.sms_account_sid + "/Messages.json";
    curl_easy_setopt(easy_, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(easy_, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, body_.c_str());
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body_.size()));
    curl_easy_setopt(easy_, CURLOPT_USERNAME, config.sms_account_sid.c_str());
    curl_easy_setopt(easy_, CURLOPT_PASSWORD, config.sms_auth_token.c_str());
    headers_ = curl_slist_append(headers_, "Expect:");
    curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers_);
    return Status::ok();
}

size_t Transfer::on_write(char* data, size_t size, size_t count, void* self) {
    auto* t = static_cast<Transfer*>(self);
    const size_t n = size * count;
    if (t->response_.size() < kMaxResponseKept)
        t->response_.append(data, std::min(n, kMaxResponseKept - t->response_.size()));
    return n;
}

size_t Transfer::on_read(char* buffer, size_t size, size_t count, void* self) {
    auto* t = static_cast<Transfer*>(self);
    const size_t n = std::min(size * count, t->body_.size() - t->body_sent_);
    std::memcpy(buffer, t->body_.data() + t->body_sent_, n);
    t->body_sent_ += n;
    return n;
}

curl_socket_t Transfer::on_open_socket(void* self, curlsocktype, curl_sockaddr* address) {
    auto* t = static_cast<Transfer*>(self);
    if (t->check_address_ && !t->policy_->allows_address(&address->addr)) {
        char text[INET6_ADDRSTRLEN] = "?";
        if (address->family == AF_INET)
            inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&address->addr)->sin_addr, text,
                      sizeof text);
        else if (address->family == AF_INET6)
            inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&address->addr)->sin6_addr, text,
                      sizeof text);
        t->refused_address_ = text;
        return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

AttemptResult Transfer::result(CURLcode code) const {
    AttemptResult r;
    long status = 0;
    curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &status);
    if (status > 0)
        r.status = static_cast<int>(status);
    if (!refused_address_.empty()) {
        r.permanent = true;
        r.error = "the target address " + refused_address_ +
                  " is not allowed (delivery_allow, delivery_deny)";
        return r;
    }
    if (code != CURLE_OK) {
        r.error = std::string(curl_easy_strerror(code));
        if (error_buffer_[0] != '\0')
            r.error += ": " + std::string(error_buffer_);
        return r;
    }
    if (kind_ == DeliveryKind::kEmail || (status >= 200 && status < 300)) {
        r.delivered = true;
        return r;
    }
    std::string excerpt = response_;
    for (char& c : excerpt) {
        if (static_cast<unsigned char>(c) < ' ')
            c = ' ';
    }
    r.error = "HTTP " + std::to_string(status) + (excerpt.empty() ? "" : ": " + excerpt);
    return r;
}

}  // namespace culex
