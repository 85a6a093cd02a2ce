#pragma once

/// \file
/// The approval workflow over the actions directory: proposals a person lists, approves or
/// rejects, an executor starts and finishes, the planner expires. Every state lives in the
/// action file itself (docs/executor-contract.md), so the directory stays the one truth that
/// executors, planner-ctl and the planner share without a database.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "planner/clock.hpp"
#include "planner/pending_proposals.hpp"
#include "planner/sinks.hpp"

namespace planner {

/// pending → approved | rejected | expired; approved → executing → succeeded | failed.
/// A `requires_human: false` proposal may also go pending → executing.
enum class ActionStatus { pending, approved, rejected, expired, executing, succeeded, failed };

std::string_view to_string(ActionStatus s) noexcept;
std::optional<ActionStatus> parse_action_status(std::string_view s) noexcept;

/// Where the state beyond the actions directory lives unless configured otherwise.
inline constexpr std::string_view kDefaultStateDir = "/var/lib/homelab-planner";

/// True for an id the planner could have written: `[A-Za-z0-9._-]`, no leading dot, 1..200
/// bytes. Anything else (`../x`, `/etc/passwd`, NUL, 10 000 characters) names no action.
bool is_valid_action_id(std::string_view id) noexcept;

struct ActionStoreOptions {
    std::filesystem::path actions_dir;
    /// Holds `audit.jsonl`; created on the first transition, so reading needs no write access.
    std::filesystem::path state_dir{std::string(kDefaultStateDir)};
    /// Age at which a pending proposal without `expires_at` expires (from its `timestamp`).
    std::chrono::seconds proposal_ttl{std::chrono::hours{24}};
    /// fsync files, the directory and the audit log. Only tests and benchmarks turn it off.
    bool fsync = true;
};

/// Why a transition was refused; `what()` is the one line planner-ctl prints.
class ActionStoreError : public std::runtime_error {
  public:
    enum class Kind { invalid_id, not_found, conflict, expired, unreadable };
    ActionStoreError(Kind kind, const std::string& message)
        : std::runtime_error(message), kind_(kind) {}
    Kind kind() const noexcept { return kind_; }

  private:
    Kind kind_;
};

/// What a successful transition did.
struct TransitionResult {
    nlohmann::json file;  ///< the action file as now stored
    ActionStatus from{};
    ActionStatus to{};
    std::string event_error;  ///< non-empty when the event file could not be written
};

/// Reads and transitions the action files in one directory. Thread-safe, and safe against
/// other processes doing the same: each transition holds an exclusive `flock` on the action
/// file, re-reads it, checks the move is allowed, rewrites it atomically, appends one audit
/// line (fsynced) and emits one event file, then lets go. Of racing transitions exactly one
/// wins; the others get ActionStoreError(conflict, "… already approved by X at T").
/// Also the agent's PendingProposals: one pending proposal per node/service, known from the
/// directory at construction, so a restarted planner does not propose it again.
class ActionStore final : public PendingProposals {
  public:
    /// `events` (optional) receives `remediation_<to>` for approved, rejected, expired,
    /// succeeded and failed. Throws std::system_error when the actions directory cannot be
    /// opened.
    explicit ActionStore(ActionStoreOptions options, EventSink* events = nullptr,
                         WallTimeSource wall = std::chrono::system_clock::now);

    /// Every readable action file, oldest first; unreadable ones are skipped.
    std::vector<nlohmann::json> list() const;
    /// The action file, or nullopt when there is none. Throws ActionStoreError(invalid_id,
    /// unreadable).
    std::optional<nlohmann::json> read(std::string_view id) const;

    TransitionResult approve(std::string_view id, const std::string& by, const std::string& note);
    TransitionResult reject(std::string_view id, const std::string& by, const std::string& reason);
    /// approved → executing, or pending → executing when `requires_human` is false.
    TransitionResult start(std::string_view id, const std::string& by);
    TransitionResult finish(std::string_view id, bool succeeded, const std::string& by,
                            const std::string& detail);
    /// pending → expired, only once its expiry has passed.
    TransitionResult expire(std::string_view id, const std::string& by = "planner");
    /// Expires every pending proposal whose expiry has passed; returns their ids. A proposal
    /// someone else moved meanwhile is skipped, not an error.
    std::vector<std::string> expire_due(const std::string& by = "planner");

    /// The audit log, newest first; only `id`'s lines when given.
    std::vector<nlohmann::json> history(std::optional<std::string_view> id = std::nullopt) const;

    /// When a pending file expires: `expires_at`, else `timestamp` + proposal_ttl.
    std::optional<std::chrono::system_clock::time_point> expiry_of(
        const nlohmann::json& file) const;

    std::optional<std::string> find_pending(std::string_view node,
                                            std::string_view service) override;
    PendingOccurrence note_occurrence(const std::string& action_id,
                                      std::chrono::system_clock::time_point when) noexcept override;
    void added(const ActionProposal& proposal) override;
    /// read(), without throwing: nullopt for an invalid id, a missing or unreadable file.
    std::optional<nlohmann::json> action_file(const std::string& action_id) noexcept override;
    /// Under the file's flock, like note_occurrence; not a transition (no audit line).
    std::optional<nlohmann::json> escalate_pending(const std::string& action_id,
                                                   const std::string& correction,
                                                   const nlohmann::json& history) noexcept override;
    /// Appends to the pending file's `affected` under its flock (the same rewrite as
    /// note_occurrence).
    bool note_affected(const std::string& action_id,
                       const std::vector<std::string>& keys) noexcept override;
    /// How many node/services have a pending, unexpired proposal now (a gauge for metrics):
    /// find_pending's answer for every one this store knows, reading only their files, so the
    /// cost grows with what waits, not with the history in the directory.
    std::size_t count_pending();

    const ActionStoreOptions& options() const noexcept { return options_; }
    std::filesystem::path audit_log_path() const { return options_.state_dir / "audit.jsonl"; }

  private:
    struct Move;
    TransitionResult apply(std::string_view id, const Move& move);
    template <class Change>
    bool update_pending(const std::string& action_id, Change change) noexcept;
    void append_audit(const nlohmann::json& line);

    ActionStoreOptions options_;
    EventSink* events_;
    WallTimeSource wall_;
    std::mutex index_mutex_;
    std::map<std::string, std::string, std::less<>> pending_by_key_;  ///< node/service → id
};

}  // namespace planner
