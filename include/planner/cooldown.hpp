#pragma once

/// \file
/// Per-key suppression so one failing service yields one proposal per cooldown period.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "planner/clock.hpp"

namespace planner {

/// Remembers when each `node/service` key last produced a proposal. Thread-safe. Expired
/// entries are dropped as new keys arrive, so memory follows the keys active within one
/// cooldown period, not every key ever seen. The period can change while running (a
/// configuration reload); it applies to keys already recorded too, since what is stored is
/// when each key was recorded, not when it becomes ready.
class CooldownTracker {
  public:
    using duration = std::chrono::duration<double>;

    explicit CooldownTracker(duration cooldown = std::chrono::seconds{300},
                             SteadyTimeSource now = std::chrono::steady_clock::now)
        : cooldown_(to_ticks(cooldown)), now_(std::move(now)) {}

    /// True when `key` has no proposal within the cooldown period.
    bool is_ready(std::string_view key) const { return remaining(key).count() <= 0; }

    /// Starts the cooldown for `key` now.
    void record(std::string_view key) {
        const auto now = now_();
        std::lock_guard lock(mutex_);
        if (recorded_.size() >= prune_threshold_) prune_locked(now);
        if (auto it = recorded_.find(key); it != recorded_.end()) {
            it->second = now;
        } else {
            recorded_.emplace(std::string(key), now);
        }
    }

    /// Seconds until `key` is ready again; 0 when it is ready or was never recorded.
    double remaining_seconds(std::string_view key) const {
        return std::max(0.0, std::chrono::duration<double>(remaining(key)).count());
    }

    /// Forgets `key`, so its next event is planned at once.
    void reset(std::string_view key) {
        std::lock_guard lock(mutex_);
        if (auto it = recorded_.find(key); it != recorded_.end()) recorded_.erase(it);
    }

    /// Keys currently held, expired ones not yet dropped included.
    std::size_t tracked_keys() const {
        std::lock_guard lock(mutex_);
        return recorded_.size();
    }

    duration cooldown() const noexcept { return period(); }

    /// Changes the period, for keys already recorded too: shortening it can make a key ready
    /// at once, lengthening it extends a running cooldown.
    void set_cooldown(duration cooldown) noexcept {
        cooldown_.store(to_ticks(cooldown), std::memory_order_relaxed);
    }

  private:
    struct StringHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    static constexpr std::size_t kMinPruneThreshold = 1024;

    static std::chrono::steady_clock::rep to_ticks(duration d) noexcept {
        return std::chrono::duration_cast<std::chrono::steady_clock::duration>(d).count();
    }
    std::chrono::steady_clock::duration period() const noexcept {
        return std::chrono::steady_clock::duration(cooldown_.load(std::memory_order_relaxed));
    }

    std::chrono::steady_clock::duration remaining(std::string_view key) const {
        const auto now = now_();
        std::lock_guard lock(mutex_);
        const auto it = recorded_.find(key);
        if (it == recorded_.end()) return std::chrono::steady_clock::duration::zero();
        return it->second + period() - now;
    }

    /// Amortised O(1): runs only when the map has doubled since the last prune.
    void prune_locked(std::chrono::steady_clock::time_point now) {
        const auto ready_if_before = now - period();
        std::erase_if(recorded_,
                      [&](const auto& entry) { return entry.second <= ready_if_before; });
        prune_threshold_ = std::max(kMinPruneThreshold, recorded_.size() * 2);
    }

    std::atomic<std::chrono::steady_clock::rep> cooldown_;
    SteadyTimeSource now_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, std::chrono::steady_clock::time_point, StringHash,
                       std::equal_to<>>
        recorded_;
    std::size_t prune_threshold_ = kMinPruneThreshold;
};

}  // namespace planner
