// An app reading the live stream (GET /api/v1/stream) in the background through
// libcurl, keeping the raw text; the test thread reads what arrived so far. The reading
// thread ends when the object is destroyed.
#pragma once

#include <curl/curl.h>
#include <rapidjson/document.h>

#include <atomic>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace culex::test {

class StreamReader {
  public:
    StreamReader(const std::string& url, const std::string& token,
                 const std::string& last_event_id = "") {
        thread_ = std::thread([this, url, token, last_event_id] {
            CURL* curl = curl_easy_init();
            curl_slist* headers =
                curl_slist_append(nullptr, ("Authorization: Bearer " + token).c_str());
            if (!last_event_id.empty())
                headers = curl_slist_append(headers, ("Last-Event-ID: " + last_event_id).c_str());
            curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
            curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
            curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
            curl_easy_setopt(curl, CURLOPT_WRITEDATA, this);
            curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
            curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
            curl_easy_setopt(curl, CURLOPT_XFERINFODATA, this);
            curl_easy_perform(curl);
            curl_slist_free_all(headers);
            curl_easy_cleanup(curl);
            done_ = true;
        });
    }
    ~StreamReader() {
        stop_ = true;
        thread_.join();
    }
    std::string text() {
        std::lock_guard<std::mutex> lock(mu_);
        return text_;
    }
    // The ids and payloads of the message events so far, in order.
    std::vector<std::pair<std::string, std::string>> events() {
        std::vector<std::pair<std::string, std::string>> out;
        const std::string all = text();
        const std::regex event("id: ([0-9]+-[0-9]+)\nevent: message\ndata: (.*)\n\n");
        for (auto it = std::sregex_iterator(all.begin(), all.end(), event);
             it != std::sregex_iterator(); ++it) {
            rapidjson::Document d;
            d.Parse((*it)[2].str().c_str());
            const std::string id = (*it)[1].str();
            // The data names the record as the id does: its seq is the id's second part.
            const bool named =
                !d.HasParseError() && d.HasMember("seq") &&
                std::to_string(d["seq"].GetUint64()) == id.substr(id.find('-') + 1) &&
                d.HasMember("broker") && d.HasMember("received_at");
            out.emplace_back(id, named ? d["payload"].GetString() : "<event without its record>");
        }
        return out;
    }

  private:
    static size_t on_data(char* data, size_t size, size_t n, void* self) {
        auto* r = static_cast<StreamReader*>(self);
        std::lock_guard<std::mutex> lock(r->mu_);
        r->text_.append(data, size * n);
        return size * n;
    }
    static int on_progress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
        return static_cast<StreamReader*>(self)->stop_ ? 1 : 0;
    }
    std::mutex mu_;
    std::string text_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> done_{false};
    std::thread thread_;
};

}  // namespace culex::test
