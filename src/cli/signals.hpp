#pragma once

/// \file
/// How planner-run stops: one stop request, and a thread that turns SIGINT/SIGTERM into it.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include <planner/log.hpp>

namespace planner::cli {

/// The one stop request: set by the signal thread or the end of a replay, waited on by loops.
class StopSignal {
  public:
    void request() {
        {
            std::lock_guard lock(mutex_);
            requested_ = true;
        }
        changed_.notify_all();
    }
    /// Sleeps for `d` unless a stop is requested first; true when stop was requested.
    bool wait_for(std::chrono::milliseconds d) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, d, [this] { return requested_.load(); });
    }
    bool requested() const { return requested_.load(); }
    const std::atomic<bool>& flag() const { return requested_; }

  private:
    std::atomic<bool> requested_{false};
    std::mutex mutex_;
    std::condition_variable changed_;
};

/// Takes SIGINT, SIGTERM and SIGHUP synchronously with sigtimedwait, so nothing runs in a
/// handler. The first stop signal asks for a graceful stop; a second one while stopping exits at
/// once (files are written atomically, so that leaves nothing half-written under a final name).
/// SIGHUP calls `on_hangup` on this thread (a configuration reload); without one it is logged.
class SignalThread {
  public:
    SignalThread(StopSignal& stop, LogSink& log, std::function<void()> on_hangup = {});
    ~SignalThread();
    SignalThread(const SignalThread&) = delete;
    SignalThread& operator=(const SignalThread&) = delete;

  private:
    std::atomic<bool> done_{false};
    std::thread thread_;
};

}  // namespace planner::cli
