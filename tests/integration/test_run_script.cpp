// scripts/run as a user and a supervisor use it: started for real (deps, the culex
// build, its own PostgreSQL cluster, mosquitto), stopped by a signal to the script's
// pid. Afterwards the broker must be gone, the cluster stopped and every acknowledged
// message stored. And the psql queries README.md and scripts/run print must work on
// every row, binary payloads included.
//
// scripts/run builds culex.so in CULEX_BUILD_DIR, which these tests point at their own
// build directory: the build step runs but finds the plugin the tests were built with.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <tuple>

#include "support/fixture.h"
#include "support/http_client.h"

using namespace culex::test;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const fs::path kSourceRoot = fs::path(__FILE__).parent_path().parent_path().parent_path();

// The SQL of every `psql ... -c "..."` on culex.messages in `text`.
std::vector<std::string> printed_queries(const std::string& text) {
    static const std::regex kQuery("-c \"([^\"]*culex\\.messages[^\"]*)\"");
    std::vector<std::string> out;
    for (std::sregex_iterator it(text.begin(), text.end(), kQuery), end; it != end; ++it)
        out.push_back((*it)[1]);
    return out;
}

// Runs `sql` and returns each row's payload_text ("<null>" for NULL) by topic; REQUIREs
// that the query succeeds.
std::map<std::string, std::string> payload_text_by_topic(culex::PgConnection& db,
                                                         const std::string& sql) {
    culex::PgOutcome rows = db.exec(sql.c_str());
    INFO(sql << ": " << rows.message);
    REQUIRE(rows.ok());
    const PGresult* r = rows.result.get();
    int topic = PQfnumber(r, "topic");
    int text = PQfnumber(r, "payload_text");
    REQUIRE(topic >= 0);
    REQUIRE(text >= 0);
    std::map<std::string, std::string> out;
    for (int i = 0; i < PQntuples(r); ++i) {
        out[PQgetvalue(r, i, topic)] =
            PQgetisnull(r, i, text) ? "<null>" : culex::pg_value(r, i, text);
    }
    return out;
}

// True when a process with this pid exists (a zombie counts: nobody has reaped it).
bool alive(pid_t pid) {
    return kill(pid, 0) == 0;
}

// The pid of mosquitto started by `parent`, or -1.
pid_t mosquitto_child_of(pid_t parent) {
    for (const auto& entry : fs::directory_iterator("/proc")) {
        std::string name = entry.path().filename();
        if (name.find_first_not_of("0123456789") != std::string::npos)
            continue;
        std::string stat = read_file(entry.path() / "stat");
        // pid (comm) state ppid ...
        size_t close = stat.rfind(')');
        if (close == std::string::npos || stat.find("(mosquitto)") == std::string::npos)
            continue;
        std::istringstream rest(stat.substr(close + 2));
        std::string state;
        pid_t ppid = 0;
        rest >> state >> ppid;
        if (ppid == parent)
            return static_cast<pid_t>(std::stol(name));
    }
    return -1;
}

// Runs a function of scripts/pg_cluster.sh, e.g. {"pg_cluster_start", dir, port}.
int pg_cluster(const std::vector<std::string>& call, const std::string& log) {
    std::vector<std::string> argv = {"bash", "-c", "source \"$0\"/scripts/pg_cluster.sh && \"$@\"",
                                     kSourceRoot.string()};
    argv.insert(argv.end(), call.begin(), call.end());
    return run_command(argv, log, "", 60s);
}

// One scripts/run in a temp data dir on free ports. The destructor cleans up after a
// failed test: it kills what is left of the script's process group and stops its
// cluster.
class RunScript {
  public:
    // background=true starts it as a non-interactive shell's background job (`&`),
    // the way another script would, so that it begins with SIGINT ignored.
    explicit RunScript(bool background)
        : dir_(make_temp_dir("culex-run")),
          mqtt_port_(free_port()),
          http_port_(free_port()),
          pg_port_(free_port()) {
        std::vector<std::string> argv = {
            "env",
            "--unset=CULEX_DB_CONNINFO",
            "CULEX_DATA_DIR=" + data_dir(),
            "CULEX_BUILD_DIR=" + fs::path(CULEX_PLUGIN_PATH).parent_path().string(),
            "CULEX_MQTT_PORT=" + std::to_string(mqtt_port_),
            "CULEX_HTTP_PORT=" + std::to_string(http_port_),
            "CULEX_PG_PORT=" + std::to_string(pg_port_)};
        std::string script = (kSourceRoot / "scripts/run").string();
        if (background) {
            argv.insert(argv.end(),
                        {"bash", "-c", "\"$0\" & echo $! >\"$1\"; wait", script, pid_file()});
        } else {
            argv.push_back(script);
        }
        process_ = std::make_unique<Process>(argv, log_path());
    }
    ~RunScript() {
        // The script's process group: the script, and a broker it may have left behind.
        kill(-process_->pid(), SIGKILL);
        process_->wait(10s);
        if (fs::exists(pg_dir() + "/data/postmaster.pid"))
            pg_cluster({"pg_cluster_stop", pg_dir()}, dir_ + "/cleanup.log");
        remove_tree(dir_);
    }
    RunScript(const RunScript&) = delete;
    RunScript& operator=(const RunScript&) = delete;

    // Waits until /readyz answers 200 (or the script exits).
    bool wait_ready() {
        HttpClient http("http://127.0.0.1:" + std::to_string(http_port_));
        return wait_until([&] { return !process_->running() || http.get("/readyz").status == 200; },
                          300s) &&
               process_->running();
    }
    // The script's own pid (in the background case, the job's, read from the pid file).
    pid_t script_pid() {
        if (!fs::exists(pid_file()))
            return process_->pid();
        return static_cast<pid_t>(std::stol(read_file(pid_file())));
    }
    Process& process() { return *process_; }
    std::string log() const { return read_file(log_path()); }
    int mqtt_port() const { return mqtt_port_; }
    int pg_port() const { return pg_port_; }
    std::string dir() const { return dir_; }
    std::string pg_dir() const { return data_dir() + "/pg"; }
    std::string spool_dir() const { return data_dir() + "/spool"; }
    std::string conninfo() const {
        return "host=127.0.0.1 port=" + std::to_string(pg_port_) + " user=postgres dbname=iot";
    }

  private:
    std::string data_dir() const { return dir_ + "/data"; }
    std::string log_path() const { return dir_ + "/run.log"; }
    std::string pid_file() const { return dir_ + "/script.pid"; }

    std::string dir_;
    int mqtt_port_;
    int http_port_;
    int pg_port_;
    std::unique_ptr<Process> process_;
};

// What every stop case checks: publish (binary and UTF-8 payloads among them), stop
// the script with `sig` right after the broker acknowledged them, and find the broker
// gone, the cluster stopped, and every message stored. With to_group the signal goes
// to the script's whole process group, as Ctrl-C in a terminal sends it.
void stop_and_check(RunScript& run, int sig, bool to_group = false) {
    pid_t script = run.script_pid();
    pid_t broker = mosquitto_child_of(script);
    REQUIRE(broker > 0);
    constexpr int kMessages = 500;
    {
        MqttClient device(run.mqtt_port(), "run-device");
        device.publish("run/binary", std::string("\xff\x00\x01\xfe", 4), 1);
        device.publish("run/utf8", "h\xc3\xa9llo", 1);
        for (int i = 0; i < kMessages; ++i)
            device.publish("run/seq", std::to_string(i), 1);
        REQUIRE(device.wait_acked());
    }
    REQUIRE(kill(to_group ? -getpgid(script) : script, sig) == 0);

    // In the background case this is the shell that started the script; it exits with it.
    bool exited = run.process().wait(120s) == 0;
    INFO(run.log());
    REQUIRE(exited);
    CHECK_FALSE(alive(script));
    CHECK_FALSE(alive(broker));
    CHECK_FALSE(port_open(run.mqtt_port()));
    CHECK_FALSE(fs::exists(run.pg_dir() + "/data/postmaster.pid"));
    CHECK_FALSE(port_open(run.pg_port()));
    CHECK(fs::is_empty(run.spool_dir()));

    // Started again, the cluster holds every acknowledged message: the broker wrote its
    // queue before the cluster went down (it would have spooled it otherwise).
    std::string log = run.dir() + "/restart.log";
    REQUIRE(pg_cluster({"pg_cluster_start", run.pg_dir(), std::to_string(run.pg_port())}, log) ==
            0);
    culex::PgConnection db(run.conninfo());
    REQUIRE(db.connect().is_ok());
    CHECK(query_value(db, "SELECT count(*) FROM culex.messages WHERE topic LIKE 'run/%'") ==
          std::to_string(kMessages + 2));
    CHECK(query_value(
              db, "SELECT count(DISTINCT payload) FROM culex.messages WHERE topic = 'run/seq'") ==
          std::to_string(kMessages));
    db.close();
    CHECK(pg_cluster({"pg_cluster_stop", run.pg_dir()}, log) == 0);
}

}  // namespace

TEST_CASE("scripts/run on SIGTERM stops the broker and then the cluster and keeps every message",
          "[run_script]") {
    RunScript run(false);
    if (!run.wait_ready())
        FAIL(run.log());

    // The query the script prints works on a binary payload too.
    {
        MqttClient device(run.mqtt_port(), "query-device");
        device.publish("query/binary", std::string("\xff\x00", 2), 1);
        device.publish("query/utf8", "\xe4\xb8\xbb\xe9\xa2\x98", 1);
        REQUIRE(device.wait_acked());
    }
    culex::PgConnection db(run.conninfo());
    REQUIRE(db.connect().is_ok());
    REQUIRE(wait_stored(db, 2, 30s));
    std::vector<std::string> queries = printed_queries(run.log());
    REQUIRE(queries.size() == 1);
    auto rows = payload_text_by_topic(db, queries[0]);
    CHECK(rows["query/binary"] == "<null>");
    CHECK(rows["query/utf8"] == "\xe4\xb8\xbb\xe9\xa2\x98");
    db.close();

    stop_and_check(run, SIGTERM);
}

TEST_CASE("scripts/run started in the background by a script stops on SIGINT", "[run_script]") {
    RunScript run(true);
    if (!run.wait_ready())
        FAIL(run.log());
    REQUIRE(run.script_pid() != run.process().pid());
    stop_and_check(run, SIGINT);
}

TEST_CASE("scripts/run stops on Ctrl-C, which reaches the broker too", "[run_script]") {
    RunScript run(false);
    if (!run.wait_ready())
        FAIL(run.log());
    stop_and_check(run, SIGINT, true);
}

TEST_CASE("the README's psql query shows text payloads and NULL for binary ones", "[run_script]") {
    std::string dbname = cluster().create_database();
    BrokerProcess broker(plugin_opts_for(dbname));
    REQUIRE(broker.wait_ready());
    // topic -> payload, and what payload_text must be.
    const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
        {"t/ascii", "{\"temp\": 21.5}", "{\"temp\": 21.5}"},
        {"t/utf8", "h\xc3\xa9llo \xf0\x9f\x98\x80", "h\xc3\xa9llo \xf0\x9f\x98\x80"},
        {"t/empty", "", ""},
        {"t/ff", std::string("\xff\x00\x01", 3), "<null>"},
        {"t/nul-only", std::string("\0", 1), "<null>"},
        {"t/text-with-nul", std::string("ab\0cd", 5), "<null>"},
        {"t/overlong", "\xc0\x80", "<null>"},
        {"t/surrogate", "\xed\xa0\x80", "<null>"},
        {"t/truncated", "ok \xe4\xb8", "<null>"},
    };
    {
        MqttClient device(broker.port(), "readme-device");
        for (const auto& [topic, payload, expected] : cases)
            device.publish(topic, payload, 1);
        REQUIRE(device.wait_acked());
    }
    auto db = cluster().connect(dbname);
    REQUIRE(wait_stored(*db, static_cast<long>(cases.size()), 30s));

    std::vector<std::string> queries =
        printed_queries(read_file((kSourceRoot / "README.md").string()));
    REQUIRE_FALSE(queries.empty());
    for (const std::string& sql : queries) {
        auto rows = payload_text_by_topic(*db, sql);
        for (const auto& [topic, payload, expected] : cases) {
            INFO(sql << " / " << topic);
            CHECK(rows[topic] == expected);
        }
    }
}
