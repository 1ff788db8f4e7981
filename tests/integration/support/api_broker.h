// A broker with culex and its HTTP API on free ports, with an admin token, ready (API
// answering /readyz) once constructed; and reading JSON answers. Test-thread only.
#pragma once

#include <rapidjson/document.h>

#include <string>

#include "broker_process.h"
#include "http_client.h"

namespace culex::test {

struct ApiBroker {
    // On a new database, or on `database` when given (one the test has prepared).
    ApiBroker(const std::string& admin_token, const PluginOpts& extra = {},
              const std::string& database = "");

    std::string db;
    int http_port;
    std::string base;  // "http://127.0.0.1:<http_port>"
    BrokerProcess broker;
};

// The reply's body as JSON; a failed REQUIRE when it is not JSON.
rapidjson::Document json(const HttpReply& reply);

}  // namespace culex::test
