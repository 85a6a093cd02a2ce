#pragma once

/// \file
/// Bounds the sequence, not just one proposal: at most so many proposals that would run
/// without a human, per node and for the whole homelab, within a sliding window. Beyond it a
/// human approves. Header-only core, no I/O.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "planner/action_file.hpp"
#include "planner/clock.hpp"
#include "planner/detail/time.hpp"

namespace planner {

/// `rules.budget` in the configuration. Zero means no limit of that kind.
struct RemediationBudgetLimits {
    std::size_t per_node = 0;
    std::size_t per_homelab = 0;
    std::chrono::seconds window{std::chrono::hours{1}};

    bool enabled() const noexcept { return per_node > 0 || per_homelab > 0; }
    bool operator==(const RemediationBudgetLimits&) const = default;
};

namespace detail {
/// `hour`, `day`, `30m`: how a correction names the window ("3 per hour").
inline std::string window_words(std::chrono::seconds w) {
    const auto s = w.count();
    if (s == 60) return "minute";
    if (s == 3600) return "hour";
    if (s == 86400) return "day";
    if (s > 0 && s % 3600 == 0) return std::to_string(s / 3600) + "h";
    if (s > 0 && s % 60 == 0) return std::to_string(s / 60) + "m";
    return std::to_string(s) + "s";
}
}  // namespace detail

/// What take() decided.
struct BudgetDecision {
    bool allowed = true;
    std::string scope;       ///< when refused: "node" or "homelab"
    std::size_t limit = 0;   ///< when refused: the limit that is used up
    std::string correction;  ///< when refused: the words for the proposal's policy corrections
};

/// The automatic proposals of the last window, by node. Thread-safe: take() checks and records
/// under one lock, so concurrent workers cannot both take the last unit. Steady time measures
/// the window (a wall clock step changes nothing); wall time only places proposals written
/// before a restart (seed).
class RemediationBudget {
  public:
    explicit RemediationBudget(SteadyTimeSource steady = std::chrono::steady_clock::now,
                               WallTimeSource wall = std::chrono::system_clock::now)
        : steady_(std::move(steady)), wall_(std::move(wall)) {}

    /// One automatic proposal for `node` now, if `limits` allow it; otherwise nothing is
    /// recorded and the decision says which limit is used up.
    BudgetDecision take(const std::string& node, const RemediationBudgetLimits& limits) {
        if (!limits.enabled()) return {};
        const auto now = steady_();
        std::lock_guard lock(mutex_);
        prune_locked(now, limits.window);
        if (limits.per_node > 0) {
            const auto used = static_cast<std::size_t>(std::count_if(
                taken_.begin(), taken_.end(), [&](const auto& t) { return t.second == node; }));
            if (used >= limits.per_node) {
                return refused("node", limits.per_node, "on " + node, limits.window);
            }
        }
        if (limits.per_homelab > 0 && taken_.size() >= limits.per_homelab) {
            return refused("homelab", limits.per_homelab, "for the homelab", limits.window);
        }
        taken_.emplace_back(now, node);
        return {};
    }

    /// Gives back the newest unit `node` took: the proposal was not written after all.
    void give_back(const std::string& node) {
        std::lock_guard lock(mutex_);
        for (auto it = taken_.rbegin(); it != taken_.rend(); ++it) {
            if (it->second == node) {
                taken_.erase(std::next(it).base());
                return;
            }
        }
    }

    /// An automatic proposal for `node` made at wall time `when` (before a restart). Times in
    /// the future count as now.
    void seed(const std::string& node, std::chrono::system_clock::time_point when) {
        const auto age = std::max(std::chrono::system_clock::duration::zero(), wall_() - when);
        const auto at =
            steady_() - std::chrono::duration_cast<std::chrono::steady_clock::duration>(age);
        std::lock_guard lock(mutex_);
        const auto pos = std::upper_bound(taken_.begin(), taken_.end(), at,
                                          [](const auto& t, const auto& e) { return t < e.first; });
        taken_.emplace(pos, at, node);
    }

    /// Seeds from action files (ActionStore::take_startup_scan() or list()): each with
    /// `requires_human: false`, a `node` and a `timestamp` within `window` counts, whatever became
    /// of it since. Returns how many counted.
    std::size_t seed_from_actions(const std::vector<ActionFile>& files,
                                  std::chrono::seconds window) {
        const double oldest =
            detail::to_epoch_seconds(wall_()) - static_cast<double>(window.count());
        std::size_t n = 0;
        for (const auto& f : files) {
            if (f.human_required() || !f.node) continue;
            const auto t = detail::parse_iso8601(ActionFile::text(f.timestamp));
            if (!t || *t < oldest) continue;
            seed(*f.node, std::chrono::system_clock::time_point(
                              std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                  std::chrono::duration<double>(*t))));
            ++n;
        }
        return n;
    }

    /// Units taken within `window` (for `node`, or all when empty).
    std::size_t used(std::chrono::seconds window, std::string_view node = {}) const {
        const auto since = steady_() - window;
        std::lock_guard lock(mutex_);
        return static_cast<std::size_t>(std::count_if(
            taken_.begin(), taken_.end(),
            [&](const auto& t) { return t.first > since && (node.empty() || t.second == node); }));
    }

  private:
    static BudgetDecision refused(std::string scope, std::size_t limit, const std::string& where,
                                  std::chrono::seconds window) {
        return {false, std::move(scope), limit,
                "requires_human forced: automatic budget of " + std::to_string(limit) + " per " +
                    detail::window_words(window) + " " + where + " used up"};
    }

    void prune_locked(std::chrono::steady_clock::time_point now, std::chrono::seconds window) {
        while (!taken_.empty() && taken_.front().first <= now - window) taken_.pop_front();
    }

    SteadyTimeSource steady_;
    WallTimeSource wall_;
    mutable std::mutex mutex_;
    /// Oldest first.
    std::deque<std::pair<std::chrono::steady_clock::time_point, std::string>> taken_;
};

}  // namespace planner
