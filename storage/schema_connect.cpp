#include "schema_connect.h"

#include "migrations.h"

namespace culex {

SchemaConnect connect_to_schema(PgConnection& db, const std::string& setup) {
    SchemaConnect attempt;
    Status connected = db.connect();
    if (!connected.is_ok()) {
        attempt.state = SchemaConnectState::kUnreachable;
        attempt.error = connected.message();
        return attempt;
    }
    bool current = false;
    PgOutcome asked = schema_is_current(db, current);
    if (asked.ok() && current && !setup.empty())
        asked = db.exec_script(setup.c_str());
    if (!asked.ok()) {
        attempt.error = asked.message;
    } else {
        attempt.state = current ? SchemaConnectState::kReady : SchemaConnectState::kSchemaNotYet;
    }
    if (!attempt.ready())
        db.close();
    return attempt;
}

std::chrono::milliseconds retry_delay(const SchemaConnect& attempt, Backoff& backoff) {
    switch (attempt.state) {
        case SchemaConnectState::kReady:
            backoff.reset();
            return std::chrono::milliseconds{0};
        case SchemaConnectState::kSchemaNotYet:
            return kSchemaPoll;
        case SchemaConnectState::kUnreachable:
        case SchemaConnectState::kFailed:
            break;
    }
    return backoff.next();
}

}  // namespace culex
