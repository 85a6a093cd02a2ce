#pragma once

/// \file
/// The seam between the planner and whatever model answers: implement LLMRouter to plug in
/// your own chain, or a ten-line fake in tests.

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "planner/health_event.hpp"
#include "planner/schema.hpp"

namespace planner {

/// One chat message, as every provider's API takes it.
struct ChatMessage {
    std::string role;  ///< "system" | "user" | "assistant"
    std::string content;

    friend bool operator==(const ChatMessage&, const ChatMessage&) = default;
};

inline void to_json(nlohmann::json& j, const ChatMessage& m) {
    j = nlohmann::json{{"role", m.role}, {"content", m.content}};
}

/// Everything a router is asked for one answer. The event travels beside the prompt so that a
/// router which does not read prose (the offline rules, a test double) decides from the data
/// itself, whole, rather than from the prompt's text and its truncated payload.
struct RouteRequest {
    std::vector<ChatMessage> messages;
    /// What the answer must validate against; must outlive the call.
    const nlohmann::json& schema = proposal_schema();
    /// The event being planned; null when the caller has none (a free-form question).
    const HealthEvent* event = nullptr;
};

/// How one attempt at one model ended.
enum class AttemptStatus {
    success,           ///< answered with a schema-valid object
    error,             ///< transport failure or HTTP error status
    timeout,           ///< no complete answer within the attempt's time limit
    invalid,           ///< answered, but not JSON or not valid against the schema
    skipped,           ///< not asked: the provider is cooling down after repeated failures
    truncated,         ///< the answer hit its token cap (finish_reason/done_reason `length`)
    prompt_truncated,  ///< the server read less of the prompt than was sent: rules may be lost
};

constexpr std::string_view to_string(AttemptStatus s) noexcept {
    switch (s) {
        case AttemptStatus::success:
            return "success";
        case AttemptStatus::error:
            return "error";
        case AttemptStatus::timeout:
            return "timeout";
        case AttemptStatus::invalid:
            return "invalid";
        case AttemptStatus::skipped:
            return "skipped";
        case AttemptStatus::truncated:
            return "truncated";
        case AttemptStatus::prompt_truncated:
            return "prompt_truncated";
    }
    return "error";
}

/// One try at one model. `error` is empty on success and never contains an API key.
struct AttemptRecord {
    std::string model;
    AttemptStatus status = AttemptStatus::error;
    std::string error;
    double latency_ms = 0.0;
};

inline void to_json(nlohmann::json& j, const AttemptRecord& a) {
    j = nlohmann::json{{"model", a.model},
                       {"status", to_string(a.status)},
                       {"error", a.error},
                       {"latency_ms", a.latency_ms}};
}

/// A schema-valid answer and how it was obtained.
struct RouteResult {
    nlohmann::json content;  ///< the validated JSON object
    std::string raw_text;    ///< what the model actually said
    std::string model_used;  ///< spec of the model that answered, e.g. "ollama/qwen2.5:7b"
    std::vector<AttemptRecord> attempts;
    double latency_ms = 0.0;
};

/// Thrown by LLMRouter::route when no model produced a valid answer; carries every attempt.
class RouteError : public std::runtime_error {
  public:
    RouteError(const std::string& what, std::vector<AttemptRecord> attempts)
        : std::runtime_error(what), attempts_(std::move(attempts)) {}
    const std::vector<AttemptRecord>& attempts() const noexcept { return attempts_; }

  private:
    std::vector<AttemptRecord> attempts_;
};

/// Gets one schema-valid JSON object for a request. Implementations may be called from
/// several planner workers at once.
class LLMRouter {
  public:
    virtual ~LLMRouter() = default;
    /// Returns a result whose `content` validates against `request.schema`, or throws
    /// RouteError (or another std::exception, which the planner treats the same way).
    virtual RouteResult route(const RouteRequest& request) = 0;

    /// Shorthand for a request without an event.
    RouteResult route(std::vector<ChatMessage> messages,
                      const nlohmann::json& schema = proposal_schema()) {
        return route(RouteRequest{std::move(messages), schema, nullptr});
    }
};

}  // namespace planner
