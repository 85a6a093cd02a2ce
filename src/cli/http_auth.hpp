#pragma once

/// \file
/// Who may change a proposal over HTTP: a bearer token compared in constant time, and a limit
/// on how often one client address may guess wrong.

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <planner/clock.hpp>

namespace planner::cli {

/// True when `presented` equals `secret`. Takes the same time whatever `presented` holds and
/// wherever it first differs: the loop runs over the secret's length only.
bool constant_time_equal(std::string_view presented, std::string_view secret) noexcept;

/// The token of an `Authorization: Bearer <token>` header (the scheme case-insensitive);
/// nullopt for any other header or an empty token.
std::optional<std::string_view> bearer_token(std::string_view authorization) noexcept;

struct AuthLimiterOptions {
    /// Failures a client may have within `window` before it is refused (429) outright.
    std::size_t max_failures = 5;
    std::chrono::seconds window{60};
    /// Client addresses remembered; the oldest is forgotten beyond this, so a flood of
    /// addresses costs bounded memory.
    std::size_t max_clients = 4096;
};

/// Failed attempts per client address in a sliding window. Thread-safe; the clock is injected
/// so tests need not sleep.
class AuthLimiter {
  public:
    explicit AuthLimiter(AuthLimiterOptions options = {},
                         SteadyTimeSource now = std::chrono::steady_clock::now);

    /// True when `client` has used up its failures: refuse without looking at the token.
    bool limited(const std::string& client);
    /// Counts one failure; returns how many `client` has within the window now.
    std::size_t fail(const std::string& client);

  private:
    void forget_old(std::deque<std::chrono::steady_clock::time_point>& times,
                    std::chrono::steady_clock::time_point now) const;

    AuthLimiterOptions options_;
    SteadyTimeSource now_;
    std::mutex mutex_;
    std::map<std::string, std::deque<std::chrono::steady_clock::time_point>> failures_;
};

}  // namespace planner::cli
