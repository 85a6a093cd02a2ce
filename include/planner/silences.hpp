#pragma once

/// \file
/// The question the agent asks before planning a key: did a person silence it (a maintenance
/// window)? An interface in the core, so the agent stays free of where silences are kept;
/// `SilenceStore` (silence_store.hpp) keeps them in the state directory.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "planner/detail/glob.hpp"

namespace planner {

/// One maintenance window: events whose `node/service` matches `match` between `created_at`
/// and `ends_at` are not planned.
struct Silence {
    std::string id;
    std::string match;  ///< shell pattern (`*`, `?`) on `node/service`, e.g. `piha/*`
    std::chrono::system_clock::time_point created_at{};
    std::chrono::system_clock::time_point ends_at{};
    std::string created_by;
    std::string reason;
    std::string expired_by;  ///< who ended it early; empty when it runs (or ran) its course

    /// True while it silences `key` (`node/service`) at `now`.
    bool silences(std::string_view key, std::chrono::system_clock::time_point now) const noexcept {
        return now >= created_at && now < ends_at && detail::glob_match(match, key);
    }
};

/// The silences in force. The agent calls `active_match` inside its screening decision for
/// every event that is not benign, so it must be quick (no disk read per call). Thread-safe
/// implementations only.
class Silences {
  public:
    virtual ~Silences() = default;
    /// The id of a silence that covers `key` (`node/service`) at `now`, if any.
    virtual std::optional<std::string> active_match(std::string_view key,
                                                    std::chrono::system_clock::time_point now) = 0;
};

}  // namespace planner
