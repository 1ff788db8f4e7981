#include "api_broker.h"

#include <catch2/catch.hpp>

#include "fixture.h"

namespace culex::test {
namespace {

PluginOpts with_api(int http_port, const std::string& admin_token, const PluginOpts& extra) {
    PluginOpts opts = {{"http_listen", "127.0.0.1:" + std::to_string(http_port)},
                       {"admin_token", admin_token}};
    opts.insert(opts.end(), extra.begin(), extra.end());
    return opts;
}

}  // namespace

ApiBroker::ApiBroker(const std::string& admin_token, const PluginOpts& extra,
                     const std::string& database)
    : db(database.empty() ? cluster().create_database() : database),
      http_port(free_port()),
      base("http://127.0.0.1:" + std::to_string(http_port)),
      broker(plugin_opts_for(db, with_api(http_port, admin_token, extra))) {
    REQUIRE(broker.wait_ready());
    HttpClient probe(base);
    REQUIRE(
        wait_until([&] { return probe.get("/readyz").status == 200; }, std::chrono::seconds(30)));
}

rapidjson::Document json(const HttpReply& reply) {
    rapidjson::Document doc;
    doc.Parse(reply.body.c_str(), reply.body.size());
    INFO(reply.body);
    REQUIRE_FALSE(doc.HasParseError());
    return doc;
}

}  // namespace culex::test
