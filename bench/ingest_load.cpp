// Load generator for the ingest path: K MQTT publishers send N messages in all, and the
// tool reports broker throughput, PUBACK latency (QoS 1), rows persisted per second,
// ingest lag (publish -> committed row) and the broker's peak RSS.
//
// Usage: ingest_load --port P [--publishers K] [--messages N] [--payload BYTES] [--qos Q]
//                    [--topics T] [--rate MSG_PER_S] [--payload-kind json|text]
//                    [--db CONNINFO] [--broker-pid PID] [--kill-after-ms MS]
// Without --db only broker-side figures are printed (a broker without the plugin).
#include <libpq-fe.h>
#include <mosquitto.h>

#include <signal.h>
#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
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
    int probe_every = 100;   // every Nth message of a publisher is a lag probe
    bool json = true;        // JSON payloads, or plain text (probes are always JSON)
    long kill_after_ms = 0;  // > 0: SIGKILL the broker then, and report what it acknowledged
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

struct Publisher {
    struct mosquitto* mosq = nullptr;
    std::atomic<bool> connected{false};
    std::atomic<long> acked{0};
    std::mutex mu;
    std::unordered_map<int, Clock::time_point> sent_at;  // QoS 1: mid -> publish time
    std::vector<double> puback_ms;
    int fence_mid = -1;
    std::atomic<bool> fence_acked{false};
};

void on_connect(struct mosquitto*, void* obj, int rc) {
    if (rc == 0)
        static_cast<Publisher*>(obj)->connected = true;
}

void on_publish(struct mosquitto*, void* obj, int mid) {
    auto* p = static_cast<Publisher*>(obj);
    auto now = Clock::now();
    std::lock_guard<std::mutex> lock(p->mu);
    if (mid == p->fence_mid)
        p->fence_acked = true;
    auto it = p->sent_at.find(mid);
    if (it != p->sent_at.end()) {
        p->puback_ms.push_back(std::chrono::duration<double, std::milli>(now - it->second).count());
        p->sent_at.erase(it);
    }
    ++p->acked;
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
    mosquitto_lib_init();
    std::vector<std::unique_ptr<Publisher>> pubs;
    for (int i = 0; i < o.publishers; ++i) {
        auto p = std::make_unique<Publisher>();
        p->mosq = mosquitto_new(("bench-" + std::to_string(i)).c_str(), true, p.get());
        mosquitto_max_inflight_messages_set(p->mosq, 0);
        mosquitto_connect_callback_set(p->mosq, on_connect);
        mosquitto_publish_callback_set(p->mosq, on_publish);
        if (mosquitto_connect(p->mosq, "127.0.0.1", o.port, 60) != MOSQ_ERR_SUCCESS) {
            std::fprintf(stderr, "cannot connect to 127.0.0.1:%d\n", o.port);
            return 1;
        }
        mosquitto_loop_start(p->mosq);
        pubs.push_back(std::move(p));
    }
    for (auto& p : pubs) {
        while (!p->connected)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }

    // A topic of this run's own, so probes of earlier runs in the same database are not counted.
    const std::string probe_topic =
        "bench/probe/" + std::to_string(getpid()) + "-" + std::to_string(wall_us());
    std::unique_ptr<DbWatcher> watcher;
    std::thread watch_thread;
    std::atomic<bool> give_up{false};
    long expected_rows = o.messages + o.publishers;  // plus one fence per publisher
    if (!o.db.empty()) {
        watcher = std::make_unique<DbWatcher>(o.db);
        watcher->probe_topic = probe_topic;
        watch_thread = std::thread([&] { watcher->run(expected_rows, give_up); });
    }

    long per_pub = o.messages / o.publishers;
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
    std::vector<std::thread> threads;
    for (int k = 0; k < o.publishers; ++k) {
        threads.emplace_back([&, k] {
            Publisher& p = *pubs[static_cast<size_t>(k)];
            int topics_per_pub = std::max(1, o.topics / o.publishers);
            double interval_us = o.rate > 0 ? 1e6 * o.publishers / static_cast<double>(o.rate) : 0;
            for (long i = 0; i < per_pub && !killed; ++i) {
                if (interval_us > 0) {
                    auto due = t0 + std::chrono::microseconds(
                                        static_cast<long>(interval_us * static_cast<double>(i)));
                    std::this_thread::sleep_until(due);
                }
                bool probe = i % o.probe_every == 0;
                std::string topic =
                    probe ? probe_topic
                          : "bench/" + std::to_string(k) + "/" + std::to_string(i % topics_per_pub);
                std::string payload = make_payload(i, o.payload, probe, o.json);
                int mid = 0;
                if (o.qos > 0) {
                    std::lock_guard<std::mutex> lock(p.mu);
                    mosquitto_publish(p.mosq, &mid, topic.c_str(), static_cast<int>(payload.size()),
                                      payload.data(), o.qos, false);
                    p.sent_at[mid] = Clock::now();
                } else {
                    while (mosquitto_publish(p.mosq, &mid, topic.c_str(),
                                             static_cast<int>(payload.size()), payload.data(), 0,
                                             false) == MOSQ_ERR_NOMEM) {
                        std::this_thread::sleep_for(std::chrono::milliseconds(1));
                    }
                }
            }
            // The broker handles a connection's packets in order: when the fence's PUBACK
            // arrives, it has received everything this publisher sent.
            std::lock_guard<std::mutex> lock(p.mu);
            mosquitto_publish(p.mosq, &p.fence_mid, "bench/fence", 5, "fence", 1, false);
        });
    }
    for (auto& t : threads)
        t.join();
    if (killer.joinable()) {
        killer.join();
        // QoS 1 PUBACKs come in the order the broker received the messages, so each
        // publisher's acknowledged messages are its first `acked` ones.
        long total = 0;
        for (size_t k = 0; k < pubs.size(); ++k) {
            std::printf("acked bench-%zu=%ld\n", k, pubs[k]->acked.load());
            total += pubs[k]->acked;
        }
        std::printf("broker killed %ld ms after the first publish; %ld messages acknowledged\n",
                    o.kill_after_ms, total);
        give_up = true;
        if (watch_thread.joinable())
            watch_thread.join();
        std::fflush(stdout);
        std::_Exit(0);  // the clients' connections are dead; skip their orderly teardown
    }
    for (auto& p : pubs) {
        while (!p->fence_acked)
            std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    auto t_broker = Clock::now();
    double broker_s = std::chrono::duration<double>(t_broker - t0).count();
    long sent = per_pub * o.publishers;

    std::printf("publishers=%d messages=%ld payload=%dB %s qos=%d topics=%d rate=%s\n",
                o.publishers, sent, o.payload, o.json ? "json" : "text", o.qos, o.topics,
                o.rate > 0 ? std::to_string(o.rate).c_str() : "max");
    std::printf("broker_throughput_msg_per_s=%.0f\n", static_cast<double>(sent) / broker_s);
    if (o.qos > 0) {
        std::vector<double> all;
        for (auto& p : pubs)
            all.insert(all.end(), p->puback_ms.begin(), p->puback_ms.end());
        std::printf("puback_latency_ms_p50=%.3f p99=%.3f max=%.3f\n", percentile(all, 0.5),
                    percentile(all, 0.99), percentile(all, 1.0));
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
        PQfinish(watcher->conn);
    }
    if (o.broker_pid > 0)
        std::printf("broker_peak_rss_mib=%.1f\n",
                    static_cast<double>(peak_rss_kib(o.broker_pid)) / 1024.0);
    for (auto& p : pubs) {
        mosquitto_disconnect(p->mosq);
        mosquitto_loop_stop(p->mosq, false);
        mosquitto_destroy(p->mosq);
    }
    mosquitto_lib_cleanup();
    return 0;
}
