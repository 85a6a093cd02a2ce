#pragma once

/// \file
/// Per-key suppression so one failing service yields one proposal per cooldown period.

#include <algorithm>
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
/// cooldown period, not every key ever seen.
class CooldownTracker {
  public:
    using duration = std::chrono::duration<double>;

    explicit CooldownTracker(duration cooldown = std::chrono::seconds{300},
                             SteadyTimeSource now = std::chrono::steady_clock::now)
        : cooldown_(std::chrono::duration_cast<std::chrono::steady_clock::duration>(cooldown)),
          now_(std::move(now)) {}

    /// True when `key` has no proposal within the cooldown period.
    bool is_ready(std::string_view key) const { return remaining(key).count() <= 0; }

    /// Starts the cooldown for `key` now.
    void record(std::string_view key) {
        const auto now = now_();
        std::lock_guard lock(mutex_);
        if (until_.size() >= prune_threshold_) prune_locked(now);
        const auto until = now + cooldown_;
        if (auto it = until_.find(key); it != until_.end()) {
            it->second = until;
        } else {
            until_.emplace(std::string(key), until);
        }
    }

    /// Seconds until `key` is ready again; 0 when it is ready or was never recorded.
    double remaining_seconds(std::string_view key) const {
        return std::max(0.0, std::chrono::duration<double>(remaining(key)).count());
    }

    /// Forgets `key`, so its next event is planned at once.
    void reset(std::string_view key) {
        std::lock_guard lock(mutex_);
        if (auto it = until_.find(key); it != until_.end()) until_.erase(it);
    }

    /// Keys currently held, expired ones not yet dropped included.
    std::size_t tracked_keys() const {
        std::lock_guard lock(mutex_);
        return until_.size();
    }

    duration cooldown() const noexcept { return cooldown_; }

  private:
    struct StringHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    static constexpr std::size_t kMinPruneThreshold = 1024;

    std::chrono::steady_clock::duration remaining(std::string_view key) const {
        const auto now = now_();
        std::lock_guard lock(mutex_);
        const auto it = until_.find(key);
        if (it == until_.end()) return std::chrono::steady_clock::duration::zero();
        return it->second - now;
    }

    /// Amortised O(1): runs only when the map has doubled since the last prune.
    void prune_locked(std::chrono::steady_clock::time_point now) {
        std::erase_if(until_, [now](const auto& entry) { return entry.second <= now; });
        prune_threshold_ = std::max(kMinPruneThreshold, until_.size() * 2);
    }

    std::chrono::steady_clock::duration cooldown_;
    SteadyTimeSource now_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, std::chrono::steady_clock::time_point, StringHash,
                       std::equal_to<>>
        until_;
    std::size_t prune_threshold_ = kMinPruneThreshold;
};

}  // namespace planner
