#pragma once

/// Injected fakes for PlannerAgent: sinks that record, a log that records, and a gate that holds
/// a router call until the test opens it, so concurrency tests wait on events, never on sleeps.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <planner/agent.hpp>

namespace planner::testing {

class RecordingActionSink final : public ActionSink {
  public:
    std::string write(const ActionProposal& proposal) override {
        std::lock_guard lock(mutex_);
        if (fail_) throw std::runtime_error("disk full");
        written_.push_back(proposal);
        return "memory:" + proposal.action_id;
    }
    void fail(bool on) {
        std::lock_guard lock(mutex_);
        fail_ = on;
    }
    std::vector<ActionProposal> written() const {
        std::lock_guard lock(mutex_);
        return written_;
    }

  private:
    mutable std::mutex mutex_;
    bool fail_ = false;
    std::vector<ActionProposal> written_;
};

class RecordingEventSink final : public EventSink {
  public:
    std::string emit(const PlannerEvent& event) override {
        std::lock_guard lock(mutex_);
        if (fail_) throw std::runtime_error("events dir gone");
        emitted_.push_back(event);
        return "memory:" + event.type;
    }
    void fail(bool on) {
        std::lock_guard lock(mutex_);
        fail_ = on;
    }
    std::vector<PlannerEvent> emitted() const {
        std::lock_guard lock(mutex_);
        return emitted_;
    }

  private:
    mutable std::mutex mutex_;
    bool fail_ = false;
    std::vector<PlannerEvent> emitted_;
};

struct LogLine {
    LogLevel level;
    std::string event;
    nlohmann::json fields;
};

class RecordingLogSink final : public LogSink {
  public:
    void log(LogLevel level, std::string_view event, const nlohmann::json& fields) override {
        std::lock_guard lock(mutex_);
        lines_.push_back({level, std::string(event), fields});
    }
    std::vector<LogLine> lines() const {
        std::lock_guard lock(mutex_);
        return lines_;
    }
    std::size_t count(std::string_view event) const {
        std::lock_guard lock(mutex_);
        std::size_t n = 0;
        for (const auto& l : lines_) {
            if (l.event == event) ++n;
        }
        return n;
    }

  private:
    mutable std::mutex mutex_;
    std::vector<LogLine> lines_;
};

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
