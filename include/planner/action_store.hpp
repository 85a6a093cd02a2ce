#pragma once

/// \file
/// The approval workflow as an interface: proposals a person lists, approves or rejects, an
/// executor starts and finishes, the planner expires. FileActionStore (file_action_store.hpp)
/// keeps every state in the action file itself (docs/executor-contract.md); a store over another
/// medium (Redis) implements the same operations with the same answers, so planner-ctl, the
/// HTTP API, the expiry sweeper and the agent do not care which one they hold.

#include <chrono>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "planner/action_file.hpp"
#include "planner/pending_proposals.hpp"

namespace planner {

/// Where the state beyond the actions directory lives unless configured otherwise.
inline constexpr std::string_view kDefaultStateDir = "/var/lib/homelab-planner";

/// True for an id the planner could have written: `[A-Za-z0-9._-]`, no leading dot, 1..200
/// bytes. Anything else (`../x`, `/etc/passwd`, NUL, 10 000 characters) names no action.
bool is_valid_action_id(std::string_view id) noexcept;

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
    nlohmann::json file;  ///< the action file as now stored (ActionFile::to_json)
    ActionStatus from{};
    ActionStatus to{};
    std::string event_error;  ///< non-empty when the event could not be written
};

/// The store of action files. Implementations are thread-safe and safe against other
/// processes using the same store: of racing transitions exactly one wins, the others get
/// ActionStoreError(conflict, "… already approved by X at T"); every transition leaves one
/// audit record and (where an EventSink was given) one `remediation_<to>` event.
/// Also the agent's PendingProposals: one pending proposal per node/service, known from the
/// store at construction, so a restarted planner does not propose it again.
class ActionStore : public PendingProposals {
  public:
    ~ActionStore() override = default;

    /// Every readable action file, oldest first; unreadable ones are skipped.
    virtual std::vector<ActionFile> list() const = 0;
    /// The action file, or nullopt when there is none. Throws ActionStoreError(invalid_id,
    /// unreadable).
    virtual std::optional<ActionFile> read(std::string_view id) const = 0;

    virtual TransitionResult approve(std::string_view id, const std::string& by,
                                     const std::string& note) = 0;
    virtual TransitionResult reject(std::string_view id, const std::string& by,
                                    const std::string& reason) = 0;
    /// approved → executing, or pending → executing when `requires_human` is false.
    virtual TransitionResult start(std::string_view id, const std::string& by) = 0;
    virtual TransitionResult finish(std::string_view id, bool succeeded, const std::string& by,
                                    const std::string& detail) = 0;
    /// pending → expired, only once its expiry has passed.
    virtual TransitionResult expire(std::string_view id, const std::string& by = "planner") = 0;
    /// Expires every pending proposal whose expiry has passed; returns their ids. A proposal
    /// someone else moved meanwhile is skipped, not an error.
    virtual std::vector<std::string> expire_due(const std::string& by = "planner") = 0;

    /// The audit log, newest first; only `id`'s records when given.
    virtual std::vector<nlohmann::json> history(
        std::optional<std::string_view> id = std::nullopt) const = 0;

    /// When a pending file expires: `expires_at`, else `timestamp` + the store's proposal TTL.
    virtual std::optional<std::chrono::system_clock::time_point> expiry_of(
        const ActionFile& file) const = 0;

    /// How many node/services have a pending, unexpired proposal now (a gauge for metrics),
    /// from the pending index: no file is read.
    virtual std::size_t count_pending() = 0;

    /// What the store read at construction (every readable action file, as list() would
    /// return it), handed over once so the start-up seeds (RemediationBudget,
    /// EscalationHistory) need no second scan; later calls return an empty vector.
    virtual std::vector<ActionFile> take_startup_scan() = 0;
};

}  // namespace planner
