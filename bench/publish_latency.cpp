// Latency of publishing over HTTP: an app POSTs /api/v1/publish one message at a time
// on an otherwise idle broker, and an MQTT subscriber notes when each arrives. Reports
// the time from the HTTP answer's arrival to the subscriber's receipt (0 when the
// message came first: the API answers only once the broker has it) and the whole
// request time.
//
// Usage: publish_latency --http-port P --mqtt-port M --token T [--count N] [--gap-ms G]
#include <curl/curl.h>
#include <mosquitto.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Arrivals {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<Clock::time_point> at;
    std::vector<bool> seen;
};

void on_message(mosquitto*, void* data, const mosquitto_message* m) {
    auto* a = static_cast<Arrivals*>(data);
    const auto now = Clock::now();
    const long i = std::strtol(
        std::string(static_cast<const char*>(m->payload), static_cast<size_t>(m->payloadlen))
            .c_str(),
        nullptr, 10);
    std::lock_guard<std::mutex> lock(a->mu);
    if (i >= 0 && static_cast<size_t>(i) < a->at.size()) {
        a->at[static_cast<size_t>(i)] = now;
        a->seen[static_cast<size_t>(i)] = true;
    }
    a->cv.notify_all();
}

size_t discard(char*, size_t size, size_t n, void*) {
    return size * n;
}

double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
    int http_port = 0;
    int mqtt_port = 0;
    std::string token;
    long count = 1000;
    long gap_ms = 20;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string key = argv[i];
        if (key == "--http-port")
            http_port = std::atoi(argv[i + 1]);
        else if (key == "--mqtt-port")
            mqtt_port = std::atoi(argv[i + 1]);
        else if (key == "--token")
            token = argv[i + 1];
        else if (key == "--count")
            count = std::atol(argv[i + 1]);
        else if (key == "--gap-ms")
            gap_ms = std::atol(argv[i + 1]);
    }
    if (http_port == 0 || mqtt_port == 0 || token.empty() || count < 1) {
        std::fprintf(stderr,
                     "usage: publish_latency --http-port P --mqtt-port M --token T"
                     " [--count N] [--gap-ms G]\n");
        return 2;
    }
    Arrivals arrivals;
    arrivals.at.resize(static_cast<size_t>(count));
    arrivals.seen.resize(static_cast<size_t>(count));
    mosquitto_lib_init();
    mosquitto* sub = mosquitto_new("latency-subscriber", true, &arrivals);
    mosquitto_message_callback_set(sub, on_message);
    if (mosquitto_connect(sub, "127.0.0.1", mqtt_port, 60) != MOSQ_ERR_SUCCESS ||
        mosquitto_loop_start(sub) != MOSQ_ERR_SUCCESS ||
        mosquitto_subscribe(sub, nullptr, "latency/x", 0) != MOSQ_ERR_SUCCESS) {
        std::fprintf(stderr, "cannot subscribe\n");
        return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let the SUBACK land

    CURL* curl = curl_easy_init();
    const std::string url = "http://127.0.0.1:" + std::to_string(http_port) + "/api/v1/publish";
    curl_slist* headers = nullptr;
    headers = curl_slist_append(headers, ("Authorization: Bearer " + token).c_str());
    headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    std::vector<double> delivery_ms;
    std::vector<double> request_ms;
    long lost = 0;
    for (long i = 0; i < count; ++i) {
        const std::string body =
            "{\"topic\": \"latency/x\", \"payload\": \"" + std::to_string(i) + "\"}";
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
        const auto sent = Clock::now();
        long status = 0;
        if (curl_easy_perform(curl) == CURLE_OK)
            curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        const auto answered = Clock::now();
        if (status != 200) {
            std::fprintf(stderr, "HTTP %ld\n", status);
            return 1;
        }
        std::unique_lock<std::mutex> lock(arrivals.mu);
        if (!arrivals.cv.wait_for(lock, std::chrono::seconds(2),
                                  [&] { return arrivals.seen[static_cast<size_t>(i)]; })) {
            ++lost;
            continue;
        }
        const double after = std::chrono::duration<double, std::milli>(
                                 arrivals.at[static_cast<size_t>(i)] - answered)
                                 .count();
        delivery_ms.push_back(std::max(0.0, after));
        request_ms.push_back(std::chrono::duration<double, std::milli>(answered - sent).count());
        lock.unlock();
        std::this_thread::sleep_for(std::chrono::milliseconds(gap_ms));  // an idle broker between
    }
    if (delivery_ms.empty()) {
        std::fprintf(stderr, "nothing arrived\n");
        return 1;
    }
    std::printf("%zu publishes, %ld lost\n", delivery_ms.size(), lost);
    std::printf("HTTP answer -> subscriber: p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
                percentile(delivery_ms, 0.5), percentile(delivery_ms, 0.99),
                percentile(delivery_ms, 1.0));
    std::printf("whole HTTP publish request: p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
                percentile(request_ms, 0.5), percentile(request_ms, 0.99),
                percentile(request_ms, 1.0));
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    mosquitto_disconnect(sub);
    mosquitto_loop_stop(sub, false);
    mosquitto_destroy(sub);
    mosquitto_lib_cleanup();
    return lost == 0 ? 0 : 1;
}
