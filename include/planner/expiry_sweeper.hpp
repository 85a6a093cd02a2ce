#pragma once

/// \file
/// The periodic expiry sweep planner-run runs: pending proposals nobody decided on within their
/// time become `expired`, so an approval arriving days later is refused rather than acted on.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>

#include "planner/action_store.hpp"
#include "planner/log.hpp"

namespace planner {

struct ExpirySweeperOptions {
    /// Between sweeps; an expired proposal stays `pending` on disk at most this long (approving
    /// it is refused anyway, since ActionStore checks the expiry itself).
    std::chrono::milliseconds interval{std::chrono::seconds{60}};
};

/// One thread that calls ActionStore::expire_due at start and then every interval, logging one
/// `proposal_expired` line per proposal. The store and the log must outlive it.
class ExpirySweeper {
  public:
    ExpirySweeper(ActionStore& store, LogSink& log, ExpirySweeperOptions options = {});
    /// Stops and joins.
    ~ExpirySweeper();
    ExpirySweeper(const ExpirySweeper&) = delete;
    ExpirySweeper& operator=(const ExpirySweeper&) = delete;

    void start();
    /// Wakes the thread and joins it. Idempotent.
    void stop();
    /// One sweep on the caller's thread; never throws. Returns how many expired.
    std::size_t sweep_once();

  private:
    ActionStore& store_;
    LogSink& log_;
    ExpirySweeperOptions options_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace planner
