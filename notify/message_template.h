// Text with placeholders filled from a matched message: `{{topic}}`, `{{payload}}`,
// `{{payload.<field path>}}` (a JSON field of the payload, as the data API's `where`
// names it), `{{qos}}`, `{{retain}}`, `{{client_id}}`, `{{id}}`, `{{time}}` (RFC 3339),
// `{{time_ms}}` and `{{rule}}`. Anything else between `{{` and `}}` is refused when the
// template is parsed, so a rule never fails later over a typo.
// Immutable once parsed; safe to share between threads.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "storage/message_query.h"

namespace culex {

class MessageTemplate {
  public:
    // Errors name the bad placeholder.
    static Result<MessageTemplate> parse(std::string_view text);

    // `raw_payload`: the payload's bytes as they are (a republished payload); otherwise
    // text, base64 when the bytes are not UTF-8 (e-mail, SMS, headers).
    std::string render(const StoredMessage& m, std::string_view rule_name, bool raw_payload) const;

    const std::string& text() const { return text_; }

  private:
    enum class Field {
        kLiteral,
        kTopic,
        kPayload,
        kPayloadField,
        kQos,
        kRetain,
        kClientId,
        kId,
        kTime,
        kTimeMs,
        kRule
    };
    struct Part {
        Field field = Field::kLiteral;
        std::string literal;
        std::vector<std::string> path;
    };
    std::string text_;
    std::vector<Part> parts_;
};

}  // namespace culex
