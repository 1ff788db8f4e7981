#include "publishing.h"

#include "common/topic_filter.h"
#include "http/server/problem.h"

namespace culex {
namespace {

constexpr auto kPublishWait = std::chrono::seconds(5);

}  // namespace

HttpResult<> check_publish_topic(const Principal& principal, const std::string& topic) {
    if (Status valid = validate_topic_name(topic); !valid.is_ok())
        return problem(400, "field 'topic': " + valid.message());
    if (topic[0] == '$')
        return problem(400, "field 'topic': topics starting with '$' are the broker's own");
    if (!principal.may_touch_topic(topic))
        return problem(403, "this token's topic filters do not include '" + topic + "'");
    return Done{};
}

HttpResult<> publish_and_wait(ApiContext& ctx, OutgoingMessage m) {
    if (ctx.outbox == nullptr)
        return problem(503, "publishing is not available here");
    std::optional<uint64_t> ticket = ctx.outbox->push(std::move(m));
    if (!ticket)
        return problem(503, "the broker's outbox is full; try again shortly");
    if (!ctx.outbox->wait_published(*ticket, kPublishWait))
        return problem(503,
                       "the broker did not take the message in time; it may still be published");
    return Done{};
}

}  // namespace culex
