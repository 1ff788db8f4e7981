// Load generator for the ingest path: K MQTT publishers send N messages in all, and the
// tool reports broker throughput, PUBACK latency (QoS 1), rows persisted per second,
// ingest lag (publish -> committed row), the broker's peak RSS and, with --pg-pid (the
// postmaster's), the CPU time the broker and PostgreSQL spent per message.
//
// Usage: ingest_load --port P [--publishers K] [--messages N] [--payload BYTES] [--qos Q]
//                    [--topics T] [--rate MSG_PER_S] [--payload-kind json|text]
//                    [--db CONNINFO] [--broker-pid PID] [--pg-pid PID] [--kill-after-ms MS]
//                    [--threads N] [--topic-prefix PREFIX]
// Without --db only broker-side figures are printed (a broker without the plugin).
#include <libpq-fe.h>

#include "mqtt_publishers.h"

#include <signal.h>
#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
    int port = 1883;
    int publishers = 4;
    long messages = 1000000;
    int payload = 100;
    int qos = 0;
    int topics = 1000;
    long rate = 0;  // 0: as fast as possible
    std::string db;
    long broker_pid = 0;
    long pg_pid = 0;        // the postmaster
    int probe_every = 100;  // every Nth message of a publisher is a lag probe
    bool json = true;       // JSON payloads, or plain text (probes are always JSON)
    long kill_after_ms = 0;
    int threads = 1;                      // the publishers' epoll loops
    std::string topic_prefix = "bench/";  // topics are PREFIX<publisher>/<n>  // > 0: SIGKILL the
                                          // broker then, and report what it acknowledged
};

int64_t wall_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

double percentile(std::vector<double> v, double p) {
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

std::string make_payload(long seq, int size, bool probe, bool json) {
    if (!json && !probe) {
        std::string s = "seq=" + std::to_string(seq) + ";ts=" + std::to_string(wall_us()) + ";";
        if (static_cast<int>(s.size()) < size)
            s.append(static_cast<size_t>(size) - s.size(), 'x');
        return s;
    }
    char head[96];
    int n = std::snprintf(head, sizeof head, "{\"seq\":%ld,\"ts\":%lld,\"probe\":%s,\"pad\":\"",
                          seq, static_cast<long long>(wall_us()), probe ? "true" : "false");
    std::string s(head, static_cast<size_t>(n));
    if (static_cast<int>(s.size()) + 2 < size)
        s.append(static_cast<size_t>(size) - s.size() - 2, 'x');
    s += "\"}";
    return s;
}

long peak_rss_kib(long pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmHWM:", 0) == 0)
            return std::atol(line.c_str() + 6);
    }
    return -1;
}

// Fields of /proc/PID/stat from the 3rd (state) on, so field N is at N - 3; empty when
// the process is gone.
std::vector<std::string> proc_stat(const std::string& pid) {
    std::ifstream in("/proc/" + pid + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::string> fields;
    const size_t close = text.rfind(')');
    if (close == std::string::npos)
        return fields;
    std::istringstream rest(text.substr(close + 2));
    for (std::string f; rest >> f;)
        fields.push_back(f);
    return fields;
}

// CPU seconds a process has used (utime + stime, every thread), and with `reaped` those
// of the children it has waited for (cutime + cstime).
double cpu_s(const std::vector<std::string>& stat, bool reaped) {
    if (stat.size() < 13)
        return 0;
    long ticks = std::atol(stat[11].c_str()) + std::atol(stat[12].c_str());
    if (reaped)
        ticks += std::atol(stat[13].c_str()) + std::atol(stat[14].c_str());
    return static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// A PostgreSQL cluster's CPU seconds: the postmaster, every live child, and the children
// it has reaped (backends that ended), but not the process `except` (our own watcher's
// backend, which is measurement, not ingest).
double cluster_cpu_s(long postmaster, long except) {
    double total = cpu_s(proc_stat(std::to_string(postmaster)), true);
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        const std::string name = entry.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos || std::stol(name) == except)
            continue;
        const std::vector<std::string> stat = proc_stat(name);
        if (stat.size() > 1 && std::atol(stat[1].c_str()) == postmaster)
            total += cpu_s(stat, true);
    }
    return total;
}

PGconn* connect_db(const std::string& conninfo) {
    PGconn* c = PQconnectdb(conninfo.c_str());
    if (PQstatus(c) != CONNECTION_OK) {
        std::fprintf(stderr, "database: %s", PQerrorMessage(c));
        std::exit(1);
    }
    return c;
}

long query_long(PGconn* c, const char* sql) {
    PGresult* r = PQexec(c, sql);
    long v = (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
                 ? std::atol(PQgetvalue(r, 0, 0))
                 : 0;
    PQclear(r);
    return v;
}

// Watches the table while the load runs: when rows appear, and when probes commit.
struct DbWatcher {
    explicit DbWatcher(const std::string& conninfo) : conn(connect_db(conninfo)) {
        start_id = query_long(conn, "SELECT coalesce(max(id), 0) FROM culex.message_store");
    }
    void run(long expected, std::atomic<bool>& give_up) {
        // Probes go to one topic; the index on (topic_id, received_at) finds new ones.
        std::string last_time = "-infinity";
        while (!give_up) {
            // The database may be down for a while (outage benchmarks): reconnect.
            if (PQstatus(conn) != CONNECTION_OK) {
                PQreset(conn);
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
                continue;
            }
            auto now_wall = wall_us();
            auto now = Clock::now();
            const char* params[2] = {last_time.c_str(), probe_topic.c_str()};
            PGresult* r = PQexecParams(
                conn,
                "SELECT m.received_at::text,"
                " substring(convert_from(m.payload, 'UTF8') from '\"ts\":([0-9]+)')::bigint"
                " FROM culex.message_store m"
                " JOIN culex.topics t ON t.id = m.topic_id"
                " WHERE t.name = $2 AND m.received_at > $1::timestamptz ORDER BY m.received_at",
                2, nullptr, params, nullptr, nullptr, 0);
            if (PQresultStatus(r) == PGRES_TUPLES_OK) {
                for (int i = 0; i < PQntuples(r); ++i) {
                    lag_ms.push_back(
                        static_cast<double>(now_wall - std::atoll(PQgetvalue(r, i, 1))) / 1000.0);
                    last_time = PQgetvalue(r, i, 0);
                }
            }
            PQclear(r);
            // One writer's ids are contiguous within an hour (the hour is the id's top
            // bits, 2^33 apart; a new hour starts at n = 1), and before schema 0006 they
            // all sit in "hour 0", from the sequence. So the rows stored since first_id
            // are, per hour, the highest id less the lowest plus one. The exact count is
            // taken once at the end.
            if (first_id == 0) {
                first_id = query_long(conn, ("SELECT coalesce(min(id), 0) FROM culex.message_store"
                                             " WHERE id > " +
                                             std::to_string(start_id))
                                                .c_str());
            }
            const std::string first = std::to_string(first_id);
            long stored =
                first_id == 0
                    ? 0
                    : query_long(conn, ("WITH top AS (SELECT max(id) AS m FROM culex.message_store)"
                                        " SELECT coalesce(sum(hi - lo + 1), 0) FROM (SELECT h.lo,"
                                        " (SELECT max(id) FROM culex.message_store WHERE id >= h.lo"
                                        " AND id < ((h.hour + 1) << 33)) AS hi FROM (SELECT hour,"
                                        " CASE WHEN hour = " +
                                        first + "::bigint >> 33 THEN " + first +
                                        "::bigint ELSE (hour << 33) + 1 END AS lo FROM top,"
                                        " generate_series(" +
                                        first +
                                        "::bigint >> 33, top.m >> 33) hour) h) x"
                                        " WHERE hi IS NOT NULL")
                                           .c_str());
            if (stored >= expected) {
                all_stored_at = now;
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
    }
    PGconn* conn;
    std::string probe_topic;
    long start_id = 0;
    long first_id = 0;
    std::vector<double> lag_ms;
    Clock::time_point all_stored_at{};
};

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i];
        std::string v = argv[i + 1];
        if (k == "--port")
            o.port = std::stoi(v);
        else if (k == "--publishers")
            o.publishers = std::stoi(v);
        else if (k == "--messages")
            o.messages = std::stol(v);
        else if (k == "--payload")
            o.payload = std::stoi(v);
        else if (k == "--qos")
            o.qos = std::stoi(v);
        else if (k == "--topics")
            o.topics = std::stoi(v);
        else if (k == "--rate")
            o.rate = std::stol(v);
        else if (k == "--db")
            o.db = v;
        else if (k == "--broker-pid")
            o.broker_pid = std::stol(v);
        else if (k == "--threads")
            o.threads = std::stoi(v);
        else if (k == "--topic-prefix")
            o.topic_prefix = v;
        else if (k == "--pg-pid")
            o.pg_pid = std::stol(v);
        else if (k == "--kill-after-ms")
            o.kill_after_ms = std::stol(v);
        else if (k == "--payload-kind")
            o.json = v == "json";
        else {
            std::fprintf(stderr, "unknown argument %s\n", k.c_str());
            std::exit(2);
        }
    }
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    Options o = parse(argc, argv);
    bench::PublishPlan plan;
    plan.port = o.port;
    plan.connections = o.publishers;
    plan.messages_per_connection = o.messages / o.publishers;
    plan.rate_per_connection = static_cast<double>(o.rate) / o.publishers;
    plan.qos = o.qos;
    plan.threads = o.threads;
    plan.fence_topic = o.topic_prefix + "fence";
    std::vector<int> sockets;
    std::string error;
    if (!bench::connect_publishers(plan, sockets, error)) {
        std::fprintf(stderr, "%s\n", error.c_str());
        return 1;
    }

    // A topic of this run's own, so probes of earlier runs in the same database are not counted.
    const std::string probe_topic =
        o.topic_prefix + "probe/" + std::to_string(getpid()) + "-" + std::to_string(wall_us());
    std::unique_ptr<DbWatcher> watcher;
    std::thread watch_thread;
    std::atomic<bool> give_up{false};
    long expected_rows = o.messages + o.publishers;  // plus one fence per publisher
    if (!o.db.empty()) {
        watcher = std::make_unique<DbWatcher>(o.db);
        watcher->probe_topic = probe_topic;
        watch_thread = std::thread([&] { watcher->run(expected_rows, give_up); });
    }

    const long per_pub = plan.messages_per_connection;
    const long watcher_backend = watcher ? PQbackendPID(watcher->conn) : 0;
    const double broker_cpu0 =
        o.broker_pid > 0 ? cpu_s(proc_stat(std::to_string(o.broker_pid)), false) : 0;
    const double pg_cpu0 = o.pg_pid > 0 ? cluster_cpu_s(o.pg_pid, watcher_backend) : 0;
    auto t0 = Clock::now();
    std::atomic<bool> killed{false};
    std::thread killer;
    if (o.kill_after_ms > 0 && o.broker_pid > 0) {
        killer = std::thread([&] {
            std::this_thread::sleep_until(t0 + std::chrono::milliseconds(o.kill_after_ms));
            kill(static_cast<pid_t>(o.broker_pid), SIGKILL);
            killed = true;
        });
    }
    const int topics_per_pub = std::max(1, o.topics / o.publishers);
    plan.message = [&](int k, long i, std::string& topic, std::string& payload) {
        const bool probe = i % o.probe_every == 0;
        topic = probe
                    ? probe_topic
                    : o.topic_prefix + std::to_string(k) + "/" + std::to_string(i % topics_per_pub);
        payload = make_payload(i, o.payload, probe, o.json);
    };
    const std::atomic<bool> never{false};
    bench::PublishResults published = bench::run_publishers(plan, sockets, never);
    if (killer.joinable()) {
        killer.join();
        // QoS 1 PUBACKs come in the order the broker received the messages, so each
        // publisher's acknowledged messages are its first `acked` ones.
        long total = 0;
        for (size_t k = 0; k < published.acked.size(); ++k) {
            std::printf("acked bench-%zu=%ld\n", k, published.acked[k]);
            total += published.acked[k];
        }
        std::printf("broker killed %ld ms after the first publish; %ld messages acknowledged\n",
                    o.kill_after_ms, total);
        give_up = true;
        if (watch_thread.joinable())
            watch_thread.join();
        std::fflush(stdout);
        std::_Exit(0);
    }
    if (published.lost_connections > 0) {
        std::fprintf(stderr, "%d connections lost before their last PUBACK\n",
                     published.lost_connections);
        give_up = true;
        if (watch_thread.joinable())
            watch_thread.join();
        return 1;
    }
    const double broker_s = std::chrono::duration<double>(published.finished - t0).count();
    long sent = per_pub * o.publishers;

    std::printf("publishers=%d messages=%ld payload=%dB %s qos=%d topics=%d rate=%s\n",
                o.publishers, sent, o.payload, o.json ? "json" : "text", o.qos, o.topics,
                o.rate > 0 ? std::to_string(o.rate).c_str() : "max");
    std::printf("broker_throughput_msg_per_s=%.0f\n", static_cast<double>(sent) / broker_s);
    if (o.qos > 0) {
        const std::vector<double>& all = published.puback_ms;
        std::printf("puback_latency_ms_p50=%.3f p99=%.3f p999=%.3f max=%.3f\n",
                    percentile(all, 0.5), percentile(all, 0.99), percentile(all, 0.999),
                    percentile(all, 1.0));
    }
    if (watcher) {
        // Bounded wait for the last rows: 120 s after the broker has everything.
        std::thread timeout([&] {
            auto until = Clock::now() + std::chrono::seconds(120);
            while (Clock::now() < until && watcher->all_stored_at == Clock::time_point{}) {
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
            }
            give_up = true;
        });
        watch_thread.join();
        timeout.join();
        if (PQstatus(watcher->conn) != CONNECTION_OK)
            PQreset(watcher->conn);
        long stored =
            query_long(watcher->conn, ("SELECT count(*) FROM culex.message_store WHERE id > " +
                                       std::to_string(watcher->start_id))
                                          .c_str());
        std::printf("rows_stored=%ld of %ld\n", stored, expected_rows);
        if (watcher->all_stored_at != Clock::time_point{}) {
            double s = std::chrono::duration<double>(watcher->all_stored_at - t0).count();
            std::printf(
                "rows_persisted_per_s=%.0f (all %ld rows committed %.2f s after the first "
                "publish)\n",
                static_cast<double>(expected_rows) / s, expected_rows, s);
        }
        std::printf("ingest_lag_ms_p50=%.1f p99=%.1f max=%.1f (probes=%zu, 5 ms polling)\n",
                    percentile(watcher->lag_ms, 0.5), percentile(watcher->lag_ms, 0.99),
                    percentile(watcher->lag_ms, 1.0), watcher->lag_ms.size());
    }
    // Up to the last row committed (or, without the plugin, the last PUBACK).
    if (o.broker_pid > 0 && o.pg_pid > 0) {
        const double broker_cpu =
            cpu_s(proc_stat(std::to_string(o.broker_pid)), false) - broker_cpu0;
        const double pg_cpu = cluster_cpu_s(o.pg_pid, watcher_backend) - pg_cpu0;
        const double n = static_cast<double>(sent);
        std::printf(
            "cpu_us_per_message=%.2f (broker %.2f, postgres %.2f; %.1f + %.1f CPU s for "
            "%ld messages)\n",
            (broker_cpu + pg_cpu) * 1e6 / n, broker_cpu * 1e6 / n, pg_cpu * 1e6 / n, broker_cpu,
            pg_cpu, sent);
    }
    if (watcher)
        PQfinish(watcher->conn);
    if (o.broker_pid > 0)
        std::printf("broker_peak_rss_mib=%.1f\n",
                    static_cast<double>(peak_rss_kib(o.broker_pid)) / 1024.0);
    return 0;
}
