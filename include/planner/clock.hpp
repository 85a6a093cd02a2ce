#pragma once

/// \file
/// Injectable time sources: production code reads the real clocks, tests pass a ManualClock.

#include <atomic>
#include <chrono>
#include <functional>
#include <string>

#include "planner/detail/time.hpp"

namespace planner {

/// Monotonic time for durations (cooldowns, backoff, timeouts).
using SteadyTimeSource = std::function<std::chrono::steady_clock::time_point()>;
/// Wall-clock time for what people read (file names, timestamps).
using WallTimeSource = std::function<std::chrono::system_clock::time_point()>;

/// `2026-11-29T07:40:00.123Z`: how every file the planner writes spells a time.
inline std::string format_utc_timestamp(std::chrono::system_clock::time_point t) {
    return detail::format_iso8601_utc(t);
}

/// A clock that moves only when told to; thread-safe, so concurrent tests can share it.
class ManualClock {
  public:
    explicit ManualClock(std::chrono::system_clock::time_point wall_start =
                             std::chrono::system_clock::time_point{
                                 std::chrono::seconds{1'780'000'000}})
        : wall_start_(wall_start) {}

    void advance(std::chrono::nanoseconds d) noexcept { offset_ns_ += d.count(); }

    std::chrono::steady_clock::time_point steady_now() const noexcept {
        return std::chrono::steady_clock::time_point{std::chrono::nanoseconds{offset_ns_.load()}};
    }
    std::chrono::system_clock::time_point wall_now() const noexcept {
        return wall_start_ + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                 std::chrono::nanoseconds{offset_ns_.load()});
    }
    SteadyTimeSource steady_source() const {
        return [this] { return steady_now(); };
    }
    WallTimeSource wall_source() const {
        return [this] { return wall_now(); };
    }

  private:
    std::chrono::system_clock::time_point wall_start_;
    std::atomic<std::chrono::nanoseconds::rep> offset_ns_{0};
};

}  // namespace planner
