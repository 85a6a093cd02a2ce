#include "planner/expiry_sweeper.hpp"

namespace planner {

ExpirySweeper::ExpirySweeper(ActionStore& store, LogSink& log, ExpirySweeperOptions options)
    : store_(store), log_(log), options_(options) {}

ExpirySweeper::~ExpirySweeper() {
    stop();
}

void ExpirySweeper::start() {
    std::lock_guard guard(mutex_);
    if (thread_.joinable() || stopping_) return;
    thread_ = std::thread([this] {
        std::unique_lock lock(mutex_);
        while (!stopping_) {
            lock.unlock();
            sweep_once();
            lock.lock();
            wake_.wait_for(lock, options_.interval, [this] { return stopping_; });
        }
    });
}

void ExpirySweeper::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

std::size_t ExpirySweeper::sweep_once() {
    try {
        const auto expired = store_.expire_due();
        for (const auto& id : expired) {
            log_.log(LogLevel::info, "proposal_expired", {{"action_id", id}});
        }
        return expired.size();
    } catch (const std::exception& e) {
        log_.log(LogLevel::warn, "expiry_sweep_failed", {{"error", e.what()}});
    } catch (...) {
        log_.log(LogLevel::warn, "expiry_sweep_failed", {{"error", "unknown exception"}});
    }
    return 0;
}

}  // namespace planner
