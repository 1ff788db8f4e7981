#include "pg_pool.h"

#include "migrations.h"

namespace culex {

PgPool::PgPool(std::string conninfo, size_t size, std::chrono::milliseconds statement_timeout,
               Schema schema)
    : conninfo_(std::move(conninfo)),
      statement_timeout_(statement_timeout),
      size_(size),
      migrated_(schema == Schema::kAsIs) {}

PgPool::Lease::~Lease() {
    if (db_)
        pool_->give_back(std::move(db_), discard_);
}

Result<PgPool::Lease> PgPool::acquire(std::chrono::milliseconds wait) {
    std::unique_ptr<PgConnection> db;
    bool need_migration = false;
    {
        std::unique_lock<std::mutex> lock(mu_);
        if (!freed_.wait_for(lock, wait, [&] { return !idle_.empty() || out_ < size_; }))
            return Status::error("all database connections are busy");
        if (!idle_.empty()) {
            db = std::move(idle_.back());
            idle_.pop_back();
            ++out_;
            return Lease(this, std::move(db));
        }
        if (std::chrono::steady_clock::now() < failed_until_)
            return Status::error(last_failure_);
        ++out_;
        need_migration = !migrated_;
    }
    // Connecting blocks, so it happens outside the lock with the slot already counted.
    db = std::make_unique<PgConnection>(conninfo_);
    Status connected = db->connect();
    std::string failure;
    if (!connected.is_ok()) {
        failure = "database unreachable";
    } else if (need_migration && !apply_migrations(*db).ok()) {
        failure = "database schema not ready";
    } else if (statement_timeout_.count() > 0 &&
               !db->exec("SELECT set_config('statement_timeout', $1, false)",
                         {std::to_string(statement_timeout_.count())})
                    .ok()) {
        failure = "cannot set statement_timeout";
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (!failure.empty()) {
        --out_;
        failed_until_ = std::chrono::steady_clock::now() + std::chrono::seconds(1);
        last_failure_ = failure;
        freed_.notify_one();
        return Status::error(failure);
    }
    migrated_ = true;
    return Lease(this, std::move(db));
}

void PgPool::give_back(std::unique_ptr<PgConnection> db, bool discard) {
    std::lock_guard<std::mutex> lock(mu_);
    --out_;
    if (!discard && db->is_open())
        idle_.push_back(std::move(db));
    freed_.notify_one();
}

}  // namespace culex
