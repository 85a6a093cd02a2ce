#pragma once

/// Holds router calls until the test opens it, so concurrency tests wait on events, never on
/// sleeps. Not a fake (it fakes no component), so it stays in this repository's test support.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace planner::testing {

/// Router calls pass `enter()` and block until `open()`; tests wait for `entered(n)`.
class Gate {
  public:
    void enter() {
        std::unique_lock lock(mutex_);
        ++entered_;
        ++inside_;
        max_inside_ = std::max(max_inside_, inside_);
        changed_.notify_all();
        changed_.wait(lock, [this] { return open_; });
        --inside_;
    }
    void open() {
        std::lock_guard lock(mutex_);
        open_ = true;
        changed_.notify_all();
    }
    /// True once `n` calls have entered; false after a generous timeout so a bug fails, not hangs.
    bool wait_entered(std::size_t n, std::chrono::seconds timeout = std::chrono::seconds{10}) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return entered_ >= n; });
    }
    std::size_t entered() const {
        std::lock_guard lock(mutex_);
        return entered_;
    }
    std::size_t max_inside() const {
        std::lock_guard lock(mutex_);
        return max_inside_;
    }

  private:
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    bool open_ = false;
    std::size_t entered_ = 0;
    std::size_t inside_ = 0;
    std::size_t max_inside_ = 0;
};

}  // namespace planner::testing
