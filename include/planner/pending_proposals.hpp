#pragma once

/// \file
/// The question the agent asks before planning a key: is a proposal for this service still
/// waiting for a human? An interface, so the agent stays free of the file layout and embedders
/// with their own ActionSink can answer it from their own store (or not at all).

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "planner/action_file.hpp"
#include "planner/proposal.hpp"

namespace planner {

/// What note_occurrence recorded on a pending proposal: the inputs of the escalation decision
/// (decide_pending_escalation), read in the same locked update that counted the event.
struct PendingOccurrence {
    /// `occurrences` as now stored, the first event included; 0 when nothing was recorded.
    std::size_t occurrences = 0;
    /// The proposal was marked `escalated` already.
    bool escalated = false;

    /// Something was recorded (the proposal was still pending).
    explicit operator bool() const noexcept { return occurrences > 0; }
};

/// One pending proposal per node/service. The agent calls `find_pending` inside its one
/// screening decision (under its queue lock, so it must be quick and must not write), and
/// `added` once a proposal was written. What the decision asks to be recorded
/// (`note_occurrence`, `note_affected`, `escalate_pending`) runs later on the agent's follow-up
/// thread, never on the thread that hands it events. Thread-safe implementations only. For
/// `rules.escalate` the agent also asks how earlier proposals ended (`action_file`) and marks a
/// pending one escalated (`escalate_pending`); the defaults know nothing, which turns those
/// parts off.
class PendingProposals {
  public:
    virtual ~PendingProposals() = default;
    /// The id of the proposal for node/service that is still `pending`, if any.
    virtual std::optional<std::string> find_pending(std::string_view node,
                                                    std::string_view service) = 0;
    /// Another event arrived for that pending proposal: count it (`occurrences`, `last_seen`)
    /// and report the count and whether it is escalated already, for the agent to decide on.
    /// Never throws; empty when the proposal was no longer pending by then.
    virtual PendingOccurrence note_occurrence(
        const std::string& action_id, std::chrono::system_clock::time_point when) noexcept = 0;
    /// A proposal was stored by the ActionSink.
    virtual void added(const ActionProposal& proposal) = 0;
    /// The action file of a proposal, whatever its state now; nullopt when unknown or
    /// unreadable. Never throws.
    virtual std::optional<ActionFile> action_file(const std::string& /*action_id*/) noexcept {
        return std::nullopt;
    }
    /// The agent decided (decide_pending_escalation) that this pending proposal escalates:
    /// marks it `escalated: true` with `history` and `escalated_at`, forces `requires_human` and
    /// adds `correction` to its description, in one locked update, and only if it is still
    /// pending and not yet escalated (the decision may race a person's). Returns the file as now
    /// stored when this call marked it, else nullopt. Never throws.
    virtual std::optional<ActionFile> escalate_pending(const std::string& /*action_id*/,
                                                       const std::string& /*correction*/,
                                                       const nlohmann::json& /*history*/) noexcept {
        return std::nullopt;
    }
    /// Events for `keys` were inhibited by that pending proposal's incident: add them to its
    /// `affected` list (deduplicated, at most ActionProposal::kMaxAffected). Never throws;
    /// false when nothing was recorded (no longer pending, nothing new, or not supported: the
    /// default, so existing implementations need not change).
    virtual bool note_affected(const std::string& /*action_id*/,
                               const std::vector<std::string>& /*keys*/) noexcept {
        return false;
    }
};

}  // namespace planner
