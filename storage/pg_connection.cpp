#include "pg_connection.h"

#include <algorithm>
#include <cstring>
#include <new>

namespace culex {
namespace {

// libpq messages span lines; the broker log wants one line per event.
std::string one_line(const char* text) {
    std::string s = text != nullptr ? text : "";
    std::replace(s.begin(), s.end(), '\n', ' ');
    while (!s.empty() && s.back() == ' ')
        s.pop_back();
    return s;
}

bool is_connection_sqlstate(const char* state) {
    if (state == nullptr)
        return false;
    // 08: connection exception; 57P0x: admin/crash shutdown, cannot connect now;
    // 53: insufficient resources (disk full, out of memory): all pass with time.
    return std::strncmp(state, "08", 2) == 0 || std::strncmp(state, "57P", 3) == 0 ||
           std::strncmp(state, "53", 2) == 0;
}

// libpq takes parameters as an array of C strings.
std::vector<const char*> c_strings(const std::vector<std::string>& params) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params)
        values.push_back(p.c_str());
    return values;
}

}  // namespace

Status validate_conninfo(const std::string& conninfo) {
    if (conninfo.empty())
        return Status::ok();
    char* error = nullptr;
    PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
    if (options == nullptr) {
        std::string message = error != nullptr ? one_line(error) : "cannot parse";
        PQfreemem(error);
        return Status::error(message);
    }
    PQconninfoFree(options);
    return Status::ok();
}

PgConnection::PgConnection(std::string conninfo) : conninfo_(std::move(conninfo)) {}

PgConnection::~PgConnection() {
    close();
}

Status PgConnection::connect() {
    close();
    // Our settings come before dbname so that anything the admin's conninfo sets wins.
    // Keepalives find a dead server while idle; tcp_user_timeout while data is unacknowledged.
    std::vector<const char*> keys = {"application_name",    "connect_timeout",  "keepalives_idle",
                                     "keepalives_interval", "keepalives_count", "tcp_user_timeout"};
    std::vector<const char*> values = {"culex", "5", "10", "5", "3", "30000"};
    if (!conninfo_.empty()) {
        keys.push_back("dbname");
        values.push_back(conninfo_.c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    conn_ = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
    if (conn_ == nullptr)
        return Status::error("out of memory creating a connection");
    // libpq prints NOTICEs (e.g. "schema already exists") to stderr by default; they
    // are expected here and would clutter the broker's output.
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
    if (PQstatus(conn_) != CONNECTION_OK) {
        Status error = Status::error(one_line(PQerrorMessage(conn_)));
        close();
        return error;
    }
    return Status::ok();
}

void PgConnection::close() {
    if (conn_ != nullptr)
        PQfinish(conn_);
    conn_ = nullptr;
    prepared_.clear();
    recent_.clear();
}

bool PgConnection::is_open() const {
    return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK;
}

PgOutcome PgConnection::connection_failure() {
    PgOutcome outcome;
    outcome.error = PgErrorKind::kConnection;
    outcome.message = conn_ != nullptr ? one_line(PQerrorMessage(conn_)) : "not connected";
    return outcome;
}

PgOutcome PgConnection::classify(PgResult result) {
    PgOutcome outcome;
    ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
        outcome.result = std::move(result);
        return outcome;
    }
    const char* state = result ? PQresultErrorField(result.get(), PG_DIAG_SQLSTATE) : nullptr;
    if (PQstatus(conn_) != CONNECTION_OK || is_connection_sqlstate(state)) {
        outcome.error = PgErrorKind::kConnection;
    } else if (state != nullptr &&
               (std::strncmp(state, "22", 2) == 0 || std::strncmp(state, "23", 2) == 0)) {
        outcome.error = PgErrorKind::kBadRow;
    } else if (state != nullptr && std::strcmp(state, "57014") == 0) {
        outcome.error = PgErrorKind::kCanceled;
    } else {
        outcome.error = PgErrorKind::kOther;
    }
    outcome.message = one_line(result ? PQresultErrorMessage(result.get()) : PQerrorMessage(conn_));
    if (outcome.message.empty())
        outcome.message = one_line(PQerrorMessage(conn_));
    outcome.result = std::move(result);
    return outcome;
}

PgOutcome PgConnection::exec(const char* sql, const std::vector<std::string>& params) {
    if (!is_open())
        return connection_failure();
    const std::vector<const char*> values = c_strings(params);
    PgResult result(PQexecParams(conn_, sql, static_cast<int>(values.size()), nullptr,
                                 values.data(), nullptr, nullptr, 0));
    return classify(std::move(result));
}

std::string PgConnection::prepared_name(const std::string& sql, size_t param_count,
                                        PgOutcome& failure) {
    auto it = prepared_.find(sql);
    if (it != prepared_.end()) {
        recent_.splice(recent_.begin(), recent_, it->second.use);
        return it->second.name;
    }
    if (prepared_.size() >= kMaxPrepared) {
        std::string deallocate;
        auto oldest = recent_.end();
        for (size_t i = 0; i < kEvictedAtOnce; ++i)
            deallocate += "DEALLOCATE " + prepared_.at(*--oldest).name + ";";
        PgOutcome dropped = classify(PgResult(PQexec(conn_, deallocate.c_str())));
        if (!dropped.ok()) {
            failure = std::move(dropped);
            return "";
        }
        for (auto gone = oldest; gone != recent_.end(); ++gone)
            prepared_.erase(*gone);
        recent_.erase(oldest, recent_.end());
    }
    std::string name = "culex_" + std::to_string(++prepared_count_);
    PgOutcome prepared = classify(PgResult(
        PQprepare(conn_, name.c_str(), sql.c_str(), static_cast<int>(param_count), nullptr)));
    if (!prepared.ok()) {
        failure = std::move(prepared);
        return "";
    }
    recent_.push_front(sql);
    prepared_.emplace(sql, Prepared{name, recent_.begin()});
    return name;
}

PgOutcome PgConnection::exec_prepared(const std::string& sql,
                                      const std::vector<std::string>& params, bool binary_results) {
    if (!is_open())
        return connection_failure();
    PgOutcome failure;
    const std::string name = prepared_name(sql, params.size(), failure);
    if (!failure.ok())
        return failure;
    const std::vector<const char*> values = c_strings(params);
    const int format = binary_results ? 1 : 0;
    return classify(PgResult(PQexecPrepared(conn_, name.c_str(), static_cast<int>(values.size()),
                                            values.data(), nullptr, nullptr, format)));
}

PgOutcome PgConnection::exec_each_row(const std::string& sql,
                                      const std::vector<std::string>& params,
                                      const std::function<void(const PGresult*)>& on_row) {
    if (!is_open())
        return connection_failure();
    PgOutcome failure;
    const std::string name = prepared_name(sql, params.size(), failure);
    if (!failure.ok())
        return failure;
    const std::vector<const char*> values = c_strings(params);
    const int sent = PQsendQueryPrepared(conn_, name.c_str(), static_cast<int>(values.size()),
                                         values.data(), nullptr, nullptr, 1);
    if (sent != 1)
        return connection_failure();
    PQsetSingleRowMode(conn_);
    PgOutcome outcome;
    bool out_of_memory = false;
    // Every result must be read, even after an error, before the connection is usable.
    while (PGresult* raw = PQgetResult(conn_)) {
        PgResult result(raw);
        if (PQresultStatus(raw) == PGRES_SINGLE_TUPLE) {
            if (!outcome.ok() || out_of_memory)
                continue;
            try {
                on_row(raw);
            } catch (const std::bad_alloc&) {
                out_of_memory = true;
            }
        } else if (outcome.ok()) {
            outcome = classify(std::move(result));
        }
    }
    if (out_of_memory)
        throw std::bad_alloc();
    outcome.result.reset();
    return outcome;
}

PgOutcome PgConnection::exec_script(const char* sql) {
    if (!is_open())
        return connection_failure();
    return classify(PgResult(PQexec(conn_, sql)));
}

PgOutcome PgConnection::copy_in(const char* copy_sql, const std::string& data) {
    if (!is_open())
        return connection_failure();
    PgResult start(PQexec(conn_, copy_sql));
    if (!start || PQresultStatus(start.get()) != PGRES_COPY_IN)
        return classify(std::move(start));
    // Large chunks keep the number of socket writes low; libpq buffers internally.
    constexpr size_t kChunk = 1 << 20;
    for (size_t off = 0; off < data.size(); off += kChunk) {
        size_t n = std::min(kChunk, data.size() - off);
        if (PQputCopyData(conn_, data.data() + off, static_cast<int>(n)) != 1)
            break;
    }
    PQputCopyEnd(conn_, nullptr);
    PgResult end(PQgetResult(conn_));
    // Drain anything left so the connection is ready for the next command.
    while (PGresult* extra = PQgetResult(conn_))
        PQclear(extra);
    return classify(std::move(end));
}

PgOutcome PgConnection::take_notifications(int& count) {
    count = 0;
    if (conn_ == nullptr || PQconsumeInput(conn_) == 0)
        return connection_failure();
    while (PGnotify* notify = PQnotifies(conn_)) {
        ++count;
        PQfreemem(notify);
    }
    return PgOutcome{};
}

}  // namespace culex
