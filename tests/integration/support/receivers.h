// The loopback stand-ins that Culex delivers to (tests/integration/receivers/receivers.py):
// an HTTP receiver that can fail or hang, an SMTP server (aiosmtpd; with a TLS directory,
// STARTTLS required) and a fake Twilio Messages API. Started per test, stopped with it.
// Test-thread only.
#pragma once

#include <rapidjson/document.h>
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "http_client.h"
#include "process.h"

namespace culex::test {

// What the fake Twilio and the SMTP server accept.
inline constexpr const char* kSmsSid = "AC123";
inline constexpr const char* kSmsToken = "sms-token";
inline constexpr const char* kSmtpUser = "mailer";
inline constexpr const char* kSmtpPassword = "mail-secret";

// The receivers process and what it saw.
class Receivers {
  public:
    // With `tls_dir` (cert.pem, key.pem) SMTP needs STARTTLS, or with `smtps` TLS from
    // the start. `http_port` 0: a free one.
    explicit Receivers(const std::string& tls_dir = "", bool smtps = false, int http_port = 0)
        : http_port_(http_port != 0 ? http_port : free_port()),
          smtp_port_(free_port()),
          tls_(!tls_dir.empty()),
          dir_(make_temp_dir("culex-recv")) {
        std::vector<std::string> argv = {"/usr/bin/python3", CULEX_TEST_RECEIVERS,
                                         "--http-port",      std::to_string(http_port_),
                                         "--smtp-port",      std::to_string(smtp_port_),
                                         "--smtp-user",      kSmtpUser,
                                         "--smtp-password",  kSmtpPassword,
                                         "--sms-sid",        kSmsSid,
                                         "--sms-token",      kSmsToken};
        if (!tls_dir.empty()) {
            argv.insert(argv.end(),
                        {"--tls-cert", tls_dir + "/cert.pem", "--tls-key", tls_dir + "/key.pem"});
            if (smtps)
                argv.emplace_back("--smtps");
        }
        process_ = std::make_unique<Process>(argv, dir_ + "/receivers.log");
        REQUIRE(wait_until([&] { return port_open(http_port_) && port_open(smtp_port_); },
                           std::chrono::seconds(20)));
    }
    ~Receivers() { remove_tree(dir_); }

    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(http_port_) + path;
    }
    int http_port() const { return http_port_; }
    int smtp_port() const { return smtp_port_; }
    bool tls() const { return tls_; }

    // Requests received whose path starts with `prefix`.
    std::vector<rapidjson::Document> requests(const std::string& prefix) {
        return listed("/_requests", [&](const rapidjson::Value& r) {
            return std::string(r["path"].GetString()).rfind(prefix, 0) == 0;
        });
    }
    // The most /hang/ requests that were open at once.
    int most_hanging_at_once() {
        HttpClient control(url(""));
        HttpReply reply = control.get("/_hanging");
        REQUIRE(reply.status == 200);
        rapidjson::Document d;
        d.Parse(reply.body.c_str());
        return d["most"].GetInt();
    }
    std::vector<rapidjson::Document> mail() {
        return listed("/_mail", [](const rapidjson::Value&) { return true; });
    }

  private:
    template <typename Keep>
    std::vector<rapidjson::Document> listed(const std::string& path, Keep keep) {
        HttpClient control(url(""));
        HttpReply reply = control.get(path);
        REQUIRE(reply.status == 200);
        rapidjson::Document all;
        all.Parse(reply.body.c_str());
        std::vector<rapidjson::Document> out;
        for (const auto& r : all.GetArray()) {
            if (!keep(r))
                continue;
            rapidjson::Document copy;
            copy.CopyFrom(r, copy.GetAllocator());
            out.push_back(std::move(copy));
        }
        return out;
    }

    int http_port_;
    int smtp_port_;
    bool tls_;
    std::string dir_;
    std::unique_ptr<Process> process_;
};

}  // namespace culex::test
