#pragma once

// The approval workflow's state machine, without files: which move is allowed from which state,
// what the file looks like afterwards and what the audit line says. Compiled, internal; the
// FileActionStore applies it under the file's lock, a Redis store would under its own.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "planner/action_file.hpp"
#include "planner/action_store.hpp"

namespace planner::detail {

/// One requested move.
struct RequestedMove {
    enum class Op { approve, reject, start, finish, expire } op;
    ActionStatus to;  ///< for finish: succeeded or failed
    std::string by;
    std::string note;
};

/// One line of the audit log.
struct AuditRecord {
    std::string at, action_id, node, service;
    ActionStatus from{}, to{};
    std::string by, note;
    nlohmann::json to_json() const;
};

/// What a move does. `file` and `audit` are set together: the file to store and the line to
/// append. `error` is set when the move is refused; both are set when asking to approve,
/// reject or start a pending proposal past its expiry (it is expired instead, and the caller
/// is told so).
struct TransitionOutcome {
    std::optional<ActionFile> file;
    std::optional<AuditRecord> audit;
    std::optional<ActionStoreError> error;
};

/// Applies `move` to `current` (the action `id` as stored now) at `now`; `expiry` is when it
/// expires if pending (FileActionStore::expiry_of). Pure: no clock, no file.
TransitionOutcome plan_transition(const ActionFile& current, std::string_view id,
                                  const RequestedMove& move,
                                  std::chrono::system_clock::time_point now,
                                  std::optional<std::chrono::system_clock::time_point> expiry);

/// "x already approved by alice at T", "x is still pending": who moved it into its state.
std::string describe_state(const ActionFile& file, std::string_view id);

}  // namespace planner::detail
