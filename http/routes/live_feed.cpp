#include "live_feed.h"

#include "common/topic_filter.h"

namespace culex {

std::vector<Message> LiveFeed::Subscription::take(std::chrono::milliseconds wait) {
    std::unique_lock<std::mutex> lock(mu_);
    ready_.wait_for(lock, wait, [this] { return !queue_.empty() || closed_ || overflowed_; });
    std::vector<Message> out(std::make_move_iterator(queue_.begin()),
                             std::make_move_iterator(queue_.end()));
    queue_.clear();
    bytes_ = 0;
    return out;
}

void LiveFeed::Subscription::push(const Message& m) {
    std::lock_guard<std::mutex> lock(mu_);
    if (overflowed_)
        return;
    if (queue_.size() >= max_messages_ || bytes_ + m.footprint() > max_bytes_) {
        overflowed_ = true;
        ready_.notify_one();
        return;
    }
    bytes_ += m.footprint();
    queue_.push_back(m);
    ready_.notify_one();
}

void LiveFeed::Subscription::close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
    ready_.notify_one();
}

std::shared_ptr<LiveFeed::Subscription> LiveFeed::subscribe(std::string filter, size_t max_messages,
                                                            size_t max_bytes) {
    auto s = std::make_shared<Subscription>(std::move(filter), max_messages, max_bytes);
    std::lock_guard<std::mutex> lock(mu_);
    subscriptions_.push_back(s);
    count_ = subscriptions_.size();
    return s;
}

void LiveFeed::unsubscribe(const std::shared_ptr<Subscription>& subscription) {
    std::lock_guard<std::mutex> lock(mu_);
    subscriptions_.remove(subscription);
    count_ = subscriptions_.size();
}

void LiveFeed::offer(const Message& m) {
    if (count_.load(std::memory_order_relaxed) == 0)
        return;
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& s : subscriptions_) {
        if (topic_matches(s->filter_, m.topic))
            s->push(m);
    }
}

void LiveFeed::close() {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& s : subscriptions_)
        s->close();
}

}  // namespace culex
