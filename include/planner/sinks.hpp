#pragma once

/// \file
/// Where the planner's outputs go: interfaces, so embedders and tests inject their own and the
/// agent never touches the file system directly.

#include <string>
#include <system_error>

#include <nlohmann/json.hpp>

#include "planner/proposal.hpp"

namespace planner {

/// An event the planner itself publishes, e.g. `remediation_started`.
struct PlannerEvent {
    std::string type;
    std::string severity = "info";
    std::string service;
    std::string correlation_id;
    nlohmann::json payload = nlohmann::json::object();
};

/// Thrown by ActionSink::write when the sink already holds a proposal with this action id
/// (FileActionSink: `<action_id>.json` exists). What is stored stays as it was: it may be a
/// proposal a person already decided, so a new one never replaces it. The agent then takes the
/// next sequence number and writes again. A std::system_error with std::errc::file_exists, so
/// code that catches either keeps working.
class ActionIdTaken : public std::system_error {
  public:
    explicit ActionIdTaken(const std::string& action_id)
        : std::system_error(std::make_error_code(std::errc::file_exists),
                            "action id " + action_id + " is already taken"),
          action_id_(action_id) {}
    const std::string& action_id() const noexcept { return action_id_; }

  private:
    std::string action_id_;
};

/// Receives every proposal that is not `ignore`: the executor's pending-action queue.
class ActionSink {
  public:
    virtual ~ActionSink() = default;
    /// Stores the proposal durably; returns where (for logs). Throws ActionIdTaken when a
    /// proposal with this action id is stored already (never replace it), anything else on
    /// failure.
    virtual std::string write(const ActionProposal& proposal) = 0;
    /// A stored proposal that still waits escalated (`rules.escalate`: seen `after` times while
    /// pending); its file already says so. A sink that tells people tells them again, at high
    /// priority. The default does nothing. Throws on failure.
    virtual void escalated(const ActionProposal& /*proposal*/) {}
};

/// Receives the planner's own events, after the action they refer to was stored.
class EventSink {
  public:
    virtual ~EventSink() = default;
    /// Stores or publishes the event; returns where (for logs). Throws on failure.
    virtual std::string emit(const PlannerEvent& event) = 0;
};

}  // namespace planner
