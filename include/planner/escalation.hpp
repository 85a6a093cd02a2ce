#pragma once

/// \file
/// Flap escalation: a service that keeps needing proposals, or whose last fix failed, is not
/// fixed by proposing the same thing again without a person. The rules, the pure decision and
/// the per-service history it reads. Header-only core, no I/O: the outcomes come from the
/// action files, which the caller reads.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "planner/action_file.hpp"
#include "planner/clock.hpp"
#include "planner/detail/time.hpp"
#include "planner/remediation_budget.hpp"

namespace planner {

/// `rules.escalate` in the configuration. `after` zero (the default) turns escalation off.
struct EscalationRules {
    /// The proposal for one node/service that escalates: the `after`-th within `window`, and a
    /// pending proposal seen `after` times.
    std::size_t after = 0;
    std::chrono::seconds window{std::chrono::hours{6}};

    bool enabled() const noexcept { return after > 0; }
    bool operator==(const EscalationRules&) const = default;
};

/// How much an action changes: ignore 0 < notify 1 < restart 2 < redeploy 3. An unknown name
/// counts as the most aggressive, so it never lowers a cap.
inline int action_aggressiveness(std::string_view action) noexcept {
    if (action == "ignore") return 0;
    if (action == "notify") return 1;
    if (action == "restart") return 2;
    return 3;
}

/// One earlier proposal for the node/service, as an escalated action file's `history` lists it.
struct PastProposal {
    std::string action_id;
    std::string action;
    std::string timestamp;    ///< when it was proposed (the action file's `timestamp`)
    std::string status;       ///< its action file's status now; "unknown" when unreadable
    std::string resolved_at;  ///< `finished_at` or `decided_at`, when it has one
    bool in_window = true;    ///< false only for the newest one, kept past the window

    /// `status` and `resolved_at` from the action file as stored now (nullopt: unknown).
    void read_outcome(const std::optional<ActionFile>& file) {
        status = "unknown";
        resolved_at.clear();
        if (!file) return;
        status = std::string(to_string(file->status));
        resolved_at = ActionFile::text(file->finished_at);
        if (resolved_at.empty()) resolved_at = ActionFile::text(file->decided_at);
    }
    void read_outcome(std::nullopt_t) { read_outcome(std::optional<ActionFile>()); }
    /// The same from a document (an action file read as JSON); unknown when it is no action
    /// file.
    void read_outcome(const std::optional<nlohmann::json>& file) {
        read_outcome(file ? ActionFile::from_json(*file).file : std::nullopt);
    }

    nlohmann::json to_json() const {
        nlohmann::json j = {{"action_id", action_id},
                            {"action", action},
                            {"timestamp", timestamp},
                            {"status", status}};
        if (!resolved_at.empty()) j["resolved_at"] = resolved_at;
        return j;
    }
};

inline nlohmann::json history_json(const std::vector<PastProposal>& earlier) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : earlier) out.push_back(e.to_json());
    return out;
}

/// What decide_escalation concluded for one new proposal.
struct EscalationDecision {
    bool escalate = false;
    /// Why, each of: "flapping" (the `after`-th within the window), "failed" (the previous one
    /// failed), "capped" (lowered to an action that already failed).
    std::vector<std::string> reasons;
    /// Non-empty: the action must be lowered to this one.
    std::string capped_to;
    /// Words for the proposal's policy corrections, in order (the lowering first).
    std::vector<std::string> corrections;
};

/// The decision for a new `action` on `key` (node/service), given the earlier proposals
/// (oldest first, outcomes read). Never more aggressive than an action that already failed
/// for this service: capped at the least aggressive failed one (an equal action may be tried
/// again, with a human; notify is never lowered to ignore). Any escalation forces a human.
inline EscalationDecision decide_escalation(const EscalationRules& rules, std::string_view key,
                                            std::string_view action,
                                            const std::vector<PastProposal>& earlier) {
    EscalationDecision d;
    if (!rules.enabled() || action == "ignore") return d;
    std::vector<std::string> why;
    const auto count =
        static_cast<std::size_t>(std::count_if(earlier.begin(), earlier.end(),
                                               [](const PastProposal& e) { return e.in_window; })) +
        1;
    if (count >= rules.after) {
        d.reasons.push_back("flapping");
        why.push_back(std::to_string(count) + " proposals for " + std::string(key) + " within " +
                      detail::window_words(rules.window));
    }
    if (!earlier.empty() && earlier.back().status == "failed") {
        d.reasons.push_back("failed");
        why.push_back("the previous proposal for " + std::string(key) + " (" +
                      earlier.back().action + ") failed");
    }
    const PastProposal* gentlest_failed = nullptr;
    for (const auto& e : earlier) {
        if (e.status != "failed") continue;
        if (gentlest_failed == nullptr ||
            action_aggressiveness(e.action) < action_aggressiveness(gentlest_failed->action)) {
            gentlest_failed = &e;
        }
    }
    if (gentlest_failed != nullptr) {
        const std::string cap =
            action_aggressiveness(gentlest_failed->action) < 1 ? "notify" : gentlest_failed->action;
        if (action_aggressiveness(action) > action_aggressiveness(cap)) {
            d.capped_to = cap;
            d.reasons.push_back("capped");
            d.corrections.push_back("action '" + std::string(action) + "' lowered to " + cap +
                                    ": " + gentlest_failed->action + " already failed for " +
                                    std::string(key) + " (" + gentlest_failed->action_id + ")");
            if (why.empty()) {
                why.push_back(gentlest_failed->action + " already failed for " + std::string(key));
            }
        }
    }
    if (why.empty()) return d;
    d.escalate = true;
    std::string words = "requires_human forced: escalated: ";
    for (std::size_t i = 0; i < why.size(); ++i) words += (i ? "; " : "") + why[i];
    d.corrections.push_back(std::move(words));
    return d;
}

/// The correction a pending proposal gets when its repeats reach `after`.
inline std::string pending_escalation_words(std::size_t after) {
    return "requires_human forced: escalated: seen " + std::to_string(after) +
           " times while pending";
}

/// The decision for a proposal still waiting for a person that was just seen again, its
/// `occurrences` counted (the first event included): escalate once they reach `after`, and
/// only the first time, so people hear about it once. The one statement of that threshold; the
/// store records what this decided (PendingProposals::escalate_pending).
inline bool decide_pending_escalation(const EscalationRules& rules, std::size_t occurrences,
                                      bool already_escalated) noexcept {
    return rules.enabled() && !already_escalated && occurrences >= rules.after;
}

/// The proposals written per node/service: those within the window, and always the newest
/// (whose failure escalates whatever its age). Thread-safe. Steady time (the agent's injected
/// clock) measures the window; wall time only places proposals written before a restart (seed).
class EscalationHistory {
  public:
    /// Past this many entries per node/service the oldest go: the history in a file stays small.
    static constexpr std::size_t kMaxPerKey = 64;

    explicit EscalationHistory(SteadyTimeSource steady = std::chrono::steady_clock::now,
                               WallTimeSource wall = std::chrono::system_clock::now)
        : steady_(std::move(steady)), wall_(std::move(wall)) {}

    /// A proposal for `key` was written now; entries older than `window` (but the newest) go.
    void record(const std::string& key, std::string action_id, std::string action,
                std::string timestamp, std::chrono::seconds window) {
        const auto now = steady_();
        std::lock_guard lock(mutex_);
        auto& entries = by_key_[key];
        insert_locked(entries,
                      Entry{now, std::move(action_id), std::move(action), std::move(timestamp)});
        while (entries.size() > 1 && entries.front().at <= now - window) entries.pop_front();
    }

    /// A proposal written at wall time `when`, before a restart. Times in the future count as
    /// now.
    void seed(const std::string& key, std::string action_id, std::string action,
              std::chrono::system_clock::time_point when) {
        const auto age = std::max(std::chrono::system_clock::duration::zero(), wall_() - when);
        const auto at =
            steady_() - std::chrono::duration_cast<std::chrono::steady_clock::duration>(age);
        std::lock_guard lock(mutex_);
        insert_locked(by_key_[key], Entry{at, std::move(action_id), std::move(action),
                                          detail::format_iso8601_utc(when)});
    }

    /// Seeds from action files (ActionStore::take_startup_scan() or list()): per node/service those
    /// whose `timestamp` lies within `window`, and the newest whatever its age. Returns how many
    /// were seeded.
    std::size_t seed_from_actions(const std::vector<ActionFile>& files,
                                  std::chrono::seconds window) {
        struct Row {
            std::string key, id, action;
            double t;
        };
        std::vector<Row> rows;
        std::map<std::string, double> newest;
        for (const auto& f : files) {
            const auto node = ActionFile::text(f.node);
            const auto service = ActionFile::text(f.service);
            const auto id = ActionFile::text(f.action_id);
            const auto t = detail::parse_iso8601(ActionFile::text(f.timestamp));
            if (node.empty() || service.empty() || id.empty() || !t) continue;
            std::string action = f.action();
            if (action.empty() || action == "ignore") continue;
            Row row{node + "/" + service, id, std::move(action), *t};
            auto& n = newest[row.key];
            n = std::max(n, row.t);
            rows.push_back(std::move(row));
        }
        const double oldest =
            detail::to_epoch_seconds(wall_()) - static_cast<double>(window.count());
        std::size_t n = 0;
        for (auto& r : rows) {
            if (r.t < oldest && r.t < newest[r.key]) continue;
            seed(r.key, std::move(r.id), std::move(r.action),
                 std::chrono::system_clock::time_point(
                     std::chrono::duration_cast<std::chrono::system_clock::duration>(
                         std::chrono::duration<double>(r.t))));
            ++n;
        }
        return n;
    }

    /// The proposals for `key` a decision looks at, oldest first, outcomes not yet read:
    /// those within `window`, and the newest whatever its age (`in_window` false). `except`
    /// (an action id) is left out: the pending proposal itself.
    std::vector<PastProposal> earlier(const std::string& key, std::chrono::seconds window,
                                      std::string_view except = {}) const {
        const auto since = steady_() - window;
        std::vector<PastProposal> out;
        std::lock_guard lock(mutex_);
        const auto it = by_key_.find(key);
        if (it == by_key_.end()) return out;
        const auto& entries = it->second;
        for (std::size_t i = 0; i < entries.size(); ++i) {
            const auto& e = entries[i];
            if (e.action_id == except) continue;
            const bool in_window = e.at > since;
            const bool newest = i + 1 == entries.size() ||
                                (i + 2 == entries.size() && entries.back().action_id == except);
            if (!in_window && !newest) continue;
            out.push_back(PastProposal{e.action_id, e.action, e.timestamp, "", "", in_window});
        }
        return out;
    }

  private:
    struct Entry {
        std::chrono::steady_clock::time_point at;
        std::string action_id;
        std::string action;
        std::string timestamp;
    };

    static void insert_locked(std::deque<Entry>& entries, Entry e) {
        const auto pos =
            std::upper_bound(entries.begin(), entries.end(), e.at,
                             [](const auto& at, const Entry& other) { return at < other.at; });
        entries.insert(pos, std::move(e));
        if (entries.size() > kMaxPerKey) entries.pop_front();
    }

    SteadyTimeSource steady_;
    WallTimeSource wall_;
    mutable std::mutex mutex_;
    std::map<std::string, std::deque<Entry>, std::less<>> by_key_;
};

}  // namespace planner
