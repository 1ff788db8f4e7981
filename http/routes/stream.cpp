// The live stream: Server-Sent Events of the messages arriving on topics that match an
// MQTT filter, in arrival order: what the broker accepted for storage (MQTT and
// /api/v1/publish) and what it routes from clients in exclude_clients (bridges), sent
// before it is committed so the stream goes on through a database outage. Each event's id is
// "<received µs>-<seq>", and its data carries broker, received_at and seq, which identify the
// record; a client that reconnects with Last-Event-ID (or ?last_event_id=) first gets what it
// missed from storage, then the live messages, without gaps or repeats at the seam. An excluded
// message is stored by the broker it was published to, under that broker's name and numbers, so its
// event names no record here and a replay from storage does not repeat it. Records inserted over
// HTTP (POST /api/v1/messages) are not arrivals and are on neither.
#include <charconv>
#include <thread>

#include "common/time_text.h"
#include "common/topic_filter.h"
#include "http/codecs/query_params.h"
#include "http/server/problem.h"
#include "replies.h"
#include "routes.h"
#include "storage/message_reads.h"

namespace culex {
namespace {

constexpr auto kHeartbeat = std::chrono::seconds(15);
constexpr size_t kMaxStreamBytes = size_t{16} << 20;
constexpr size_t kMaxReplay = 10000;
constexpr auto kCatchUpWait = std::chrono::seconds(2);

struct Position {
    int64_t received_us = 0;
    uint64_t seq = 0;
    bool after(const Position& other) const {
        return received_us != other.received_us ? received_us > other.received_us : seq > other.seq;
    }
};

std::optional<Position> parse_event_id(const std::string& text) {
    const size_t dash = text.find('-');
    Position p;
    if (dash == std::string::npos)
        return std::nullopt;
    auto [e1, c1] = std::from_chars(text.data(), text.data() + dash, p.received_us);
    auto [e2, c2] = std::from_chars(text.data() + dash + 1, text.data() + text.size(), p.seq);
    if (c1 != std::errc() || e1 != text.data() + dash || c2 != std::errc() ||
        e2 != text.data() + text.size() || p.received_us < 0)
        return std::nullopt;
    return p;
}

std::string event(const Message& m, const std::string& broker) {
    rapidjson::StringBuffer out;
    JsonWriter w(out);
    StoredMessage record = stored_from(m, broker);
    record.seq = m.seq;
    write_message(w, record, false);
    std::string text = "id: " + std::to_string(m.received_us) + "-" + std::to_string(m.seq) +
                       "\nevent: message\ndata: ";
    text.append(out.GetString(), out.GetSize());
    text += "\n\n";
    return text;
}

void run_stream(ApiContext& ctx, const std::string& filter, std::optional<Position> resume,
                const StreamWrite& write) {
    // Subscribe first, then read storage: what arrives meanwhile is in the subscription,
    // and the position check below drops what the replay already sent.
    std::shared_ptr<LiveFeed::Subscription> live =
        ctx.live->subscribe(filter, ctx.config.stream_max_queue, kMaxStreamBytes);
    Position sent;
    bool ok = write(": culex live stream of " + filter + "\n\n");
    if (ok && resume) {
        sent = *resume;
        // Messages accepted before the subscription may still be on their way to the
        // database; give the writer a moment to commit them.
        if (ctx.ingest != nullptr) {
            const uint64_t queued = ctx.ingest->queued;
            const auto deadline = std::chrono::steady_clock::now() + kCatchUpWait;
            while (ctx.ingest->stored + ctx.ingest->refused_by_db < queued &&
                   std::chrono::steady_clock::now() < deadline)
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        std::vector<Message> missed;
        HttpResult<> read = run_read(
            ctx,
            [&](PgConnection& db, PartitionMap*) {
                return read_arrivals_after(db, ctx.config.broker_id, filter, sent.received_us,
                                           sent.seq, kMaxReplay, missed);
            },
            ReadFreshness::kCommittedNow);
        if (!read.is_ok()) {
            ok = write(
                "event: error\ndata: {\"detail\": \"cannot read the missed messages now; "
                "reconnect later\"}\n\n");
            ctx.live->unsubscribe(live);
            return;
        }
        for (const Message& m : missed) {
            ok = ok && write(event(m, ctx.config.broker_id));
            sent = {m.received_us, m.seq};
        }
        if (missed.size() == kMaxReplay) {
            // More was missed than one replay carries: the client resumes from here.
            write(
                "event: more\ndata: {\"detail\": \"reconnect with the last id to get the "
                "rest\"}\n\n");
            ctx.live->unsubscribe(live);
            return;
        }
    }
    while (ok && !live->closed()) {
        std::vector<Message> batch = live->take(kHeartbeat);
        if (batch.empty() && !live->overflowed()) {
            ok = write(": keep-alive\n\n");  // also finds clients that went away
            continue;
        }
        std::string chunk;
        for (const Message& m : batch) {
            const Position p{m.received_us, m.seq};
            if (!p.after(sent))
                continue;
            chunk += event(m, ctx.config.broker_id);
            sent = p;
        }
        ok = write(chunk);
        if (ok && live->overflowed() && live->take(std::chrono::milliseconds(0)).empty()) {
            write(
                "event: overflow\ndata: {\"detail\": \"this client fell too far behind; "
                "reconnect with the last id to continue from storage\"}\n\n");
            ctx.log.printf(LogLevel::kNotice,
                           "culex: a live-stream client on '%s' fell more than %zu messages "
                           "behind and was cut off.",
                           filter.c_str(), ctx.config.stream_max_queue);
            break;
        }
    }
    ctx.live->unsubscribe(live);
}

Response get_stream(ApiContext& ctx, Request& request, const Principal& principal) {
    HttpResult<ParamReader> parsed = read_params(request.query);
    if (!parsed.is_ok())
        return parsed.error();
    ParamReader& params = parsed.value();
    const std::string filter = params.text("filter").value_or("#");
    if (Status valid = validate_topic_filter(filter); !valid.is_ok())
        params.fail("parameter 'filter': " + valid.message());
    std::string last_id = params.text("last_event_id").value_or(request.last_event_id);
    if (HttpResult<> done = finish_params(params); !done.is_ok())
        return done.error();
    std::optional<Position> resume;
    if (!last_id.empty()) {
        resume = parse_event_id(last_id);
        if (!resume)
            return problem(400, "Last-Event-ID is not an id this stream sent");
    }
    if (!principal.may_touch_filter(filter))
        return problem(403, "this token's topic filters do not cover all of '" + filter + "'");
    if (ctx.live == nullptr)
        return problem(503, "the live stream is not available here");
    // Each stream holds a worker thread; keep half of them for the rest of the API.
    if (ctx.live->subscribers() >= static_cast<size_t>(ctx.config.http_threads / 2))
        return problem(503, "too many live streams are open; try again later");
    Response r;
    r.content_type = "text/event-stream";
    r.stream = [&ctx, filter, resume](const StreamWrite& write) {
        run_stream(ctx, filter, resume, write);
    };
    return r;
}

}  // namespace

void add_stream_routes(Router& router, ApiContext& ctx) {
    router.add({"GET", "/api/v1/stream", Scope::kRead,
                [&ctx](Request& r, const Principal& p) { return get_stream(ctx, r, p); }});
}

}  // namespace culex
