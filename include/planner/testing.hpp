#pragma once

/// \file
/// Test doubles for code that embeds the planner, the way gtest ships gmock: a scripted
/// LLMRouter, sinks that record and can be told to fail, and builders for events and answers.
/// Header-only, part of `planner::core`, no test framework; opt-in (not in core.hpp) so that
/// production code never includes a fake by accident. Nothing here touches the network or the
/// file system. Every class is thread-safe, because planner workers call concurrently.

#include <chrono>
#include <cstddef>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "planner/clock.hpp"
#include "planner/executor_mapping.hpp"
#include "planner/health_event.hpp"
#include "planner/log_sink.hpp"
#include "planner/proposal.hpp"
#include "planner/router.hpp"
#include "planner/sinks.hpp"

namespace planner::testing {

// --- builders --------------------------------------------------------------------------------

/// A shape-A health event with the seed suite's defaults (`_health_event`): mosquitto on piha
/// is unhealthy.
inline HealthEvent make_health_event(std::string node = "piha", std::string service = "mosquitto",
                                     std::string event_type = "service_unhealthy",
                                     std::string severity = "error",
                                     nlohmann::json payload = nlohmann::json::object()) {
    HealthEvent e;
    e.node = std::move(node);
    e.service = std::move(service);
    e.event_type = std::move(event_type);
    e.severity = std::move(severity);
    e.payload = std::move(payload);
    e.timestamp = 1'780'000'000.0;
    e.raw_channel = "health_events";
    return e;
}

/// A schema-valid answer as a model gives it, with the seed suite's defaults
/// (`_make_route_result`): restart mosquitto on piha, confidence 0.9, one successful attempt.
inline RouteResult make_route_result(std::string action = "restart",
                                     std::string service = "mosquitto", std::string node = "piha",
                                     std::string reason = "Container is stopped",
                                     double confidence = 0.9, bool requires_human = false,
                                     std::string model = "ollama/qwen2.5:7b") {
    nlohmann::json content = {
        {"action", action}, {"service", service},       {"node", node},
        {"reason", reason}, {"confidence", confidence}, {"requires_human", requires_human}};
    RouteResult r;
    r.raw_text = content.dump();
    r.content = std::move(content);
    r.model_used = model;
    r.attempts = {AttemptRecord{model, AttemptStatus::success, "", 120.0}};
    r.latency_ms = 120.0;
    return r;
}

/// A proposal as the plan step stores it, with the seed suite's defaults: restart mosquitto on
/// piha (container_restart, low risk), confidence 0.9, a human decides, proposed by the rules
/// provider in one attempt at the fixed test time 1'780'000'000. Set only what a test is about:
///   `ActionProposal p = a_proposal().id("plan-1").service("zigbee").requires_human(false);`
/// `action()` keeps `type` and `risk_level` as map_action_to_executor_type gives them, so a
/// built proposal never pairs an action with another action's executor type.
class ProposalBuilder {
  public:
    ProposalBuilder() {
        p_.action_id = "plan-piha-mosquitto-1780000000-1";
        p_.node = "piha";
        p_.service = "mosquitto";
        p_.reason = "exited with code 137";
        p_.confidence = 0.9;
        p_.requires_human = true;
        p_.source_event = "service_unhealthy";
        p_.llm_model = "rules";
        p_.llm_attempts = 1;
        p_.created_at = std::chrono::system_clock::time_point{std::chrono::seconds{1'780'000'000}};
        action("restart");
    }

    ProposalBuilder& id(std::string v) { return set(p_.action_id, std::move(v)); }
    ProposalBuilder& node(std::string v) { return set(p_.node, std::move(v)); }
    ProposalBuilder& service(std::string v) { return set(p_.service, std::move(v)); }
    ProposalBuilder& action(std::string v) {
        const auto [type, risk] = map_action_to_executor_type(v);
        p_.type = std::string(type);
        p_.risk_level = std::string(risk);
        return set(p_.action, std::move(v));
    }
    ProposalBuilder& reason(std::string v) { return set(p_.reason, std::move(v)); }
    ProposalBuilder& description(std::string v) { return set(p_.description, std::move(v)); }
    ProposalBuilder& confidence(double v) { return set(p_.confidence, v); }
    ProposalBuilder& requires_human(bool v) { return set(p_.requires_human, v); }
    ProposalBuilder& source_event(std::string v) { return set(p_.source_event, std::move(v)); }
    ProposalBuilder& model(std::string v, int attempts = 1) {
        p_.llm_attempts = attempts;
        return set(p_.llm_model, std::move(v));
    }
    ProposalBuilder& created_at(std::chrono::system_clock::time_point v) {
        return set(p_.created_at, v);
    }
    /// `expires_at` = created_at + `ttl`.
    ProposalBuilder& expires_in(std::chrono::system_clock::duration ttl) {
        p_.expires_at = p_.created_at + ttl;
        return *this;
    }
    ProposalBuilder& expires_at(std::chrono::system_clock::time_point v) {
        p_.expires_at = v;
        return *this;
    }
    /// One of the house rules' corrections, as apply_policy words them.
    ProposalBuilder& correction(std::string v) {
        p_.policy_corrections.push_back(std::move(v));
        return *this;
    }

    ActionProposal build() const { return p_; }
    operator ActionProposal() const { return p_; }  // NOLINT: a builder reads best without build()

  private:
    template <class T, class V>
    ProposalBuilder& set(T& field, V&& value) {
        field = std::forward<V>(value);
        return *this;
    }
    ActionProposal p_;
};

/// See ProposalBuilder.
inline ProposalBuilder a_proposal() {
    return {};
}

/// What a file sink throws when the disk is full: std::system_error with ENOSPC, as
/// FileActionSink and FileEventSink do. The default failure of the recording sinks.
inline std::exception_ptr disk_full(const std::string& what = "cannot write") {
    return std::make_exception_ptr(
        std::system_error(std::make_error_code(std::errc::no_space_on_device), what));
}

// --- the router ------------------------------------------------------------------------------

/// One scripted answer of a FakeRouter.
struct Reply {
    std::optional<RouteResult> result;   ///< returned, unless `error` is set
    std::exception_ptr error;            ///< thrown from route()
    std::chrono::milliseconds delay{0};  ///< the FakeRouter's clock moves this much first

    /// A normal answer.
    static Reply answer(RouteResult result) { return {std::move(result), nullptr, {}}; }
    /// An answer that breaks the LLMRouter contract (content not valid against the proposal
    /// schema), as a careless custom router might return: make_proposal must cope.
    static Reply invalid(nlohmann::json content = {{"action", "reboot_everything"},
                                                   {"confidence", 7}}) {
        RouteResult r = make_route_result();
        r.content = std::move(content);
        r.raw_text = r.content.dump();
        return answer(std::move(r));
    }
    /// Every model failed: throws RouteError, as ChainRouter does, with these attempts.
    static Reply fail(std::string what = "all models failed",
                      std::vector<AttemptRecord> attempts = {
                          {"ollama/qwen2.5:7b", AttemptStatus::error, "connection refused", 1.0}}) {
        return {std::nullopt, std::make_exception_ptr(RouteError(what, std::move(attempts))), {}};
    }
    /// This reply, after `d` on the router's ManualClock (a slow model, without sleeping).
    Reply after(std::chrono::milliseconds d) const {
        Reply r = *this;
        r.delay = d;
        return r;
    }
};

/// A callable a FakeRouter can answer with: given the whole request, or only its prompt.
template <class F>
inline constexpr bool answers_request = std::is_invocable_r_v<RouteResult, F&, const RouteRequest&>;
template <class F>
inline constexpr bool answers_prompt =
    std::is_invocable_r_v<RouteResult, F&, const std::vector<ChatMessage>&>;

/// An LLMRouter that answers from a callable or from a script, and records every request.
class FakeRouter final : public LLMRouter {
  public:
    /// Answers a call. Built from a callable taking `const RouteRequest&` (the whole request,
    /// event included) or `const std::vector<ChatMessage>&` (only the prompt).
    class Responder {
      public:
        template <class F, class = std::enable_if_t<answers_request<F> || answers_prompt<F>>>
        Responder(F f) {  // NOLINT(google-explicit-constructor): lambdas convert implicitly
            if constexpr (answers_request<F>) {
                fn_ = std::move(f);
            } else {
                fn_ = [f = std::move(f)](const RouteRequest& r) mutable { return f(r.messages); };
            }
        }
        RouteResult operator()(const RouteRequest& request) const { return fn_(request); }

      private:
        std::function<RouteResult(const RouteRequest&)> fn_;
    };

    /// One recorded call, copied so it outlives the request.
    struct Call {
        std::vector<ChatMessage> messages;
        nlohmann::json schema;
        std::optional<HealthEvent> event;  ///< nullopt when the caller passed none
    };

    /// Answers every call with `respond(request)`.
    explicit FakeRouter(Responder respond) : respond_(std::move(respond)) {}
    /// Answers call n with `script[n]`; a call beyond the script throws std::logic_error (the
    /// agent logs it as a chain failure, so an unexpected call shows in the test). Delays move
    /// `clock`, which must be given when any reply has one.
    explicit FakeRouter(std::vector<Reply> script, ManualClock* clock = nullptr)
        : script_(script.begin(), script.end()), clock_(clock) {}
    /// The common case: the same answer to every call.
    static FakeRouter always(RouteResult result) {
        return FakeRouter([result](const RouteRequest&) { return result; });
    }

    using LLMRouter::route;
    RouteResult route(const RouteRequest& request) override {
        std::optional<Reply> reply;
        {
            std::lock_guard lock(mutex_);
            calls_.push_back(
                {request.messages, request.schema,
                 request.event ? std::optional<HealthEvent>(*request.event) : std::nullopt});
            if (!respond_) {
                if (script_.empty()) {
                    throw std::logic_error("FakeRouter: no scripted reply left for call " +
                                           std::to_string(calls_.size()));
                }
                reply = std::move(script_.front());
                script_.pop_front();
            }
        }
        if (!reply) return (*respond_)(request);  // outside the lock: it may block (a gate)
        if (reply->delay.count() > 0) {
            if (clock_ == nullptr) throw std::logic_error("FakeRouter: a delay needs a clock");
            clock_->advance(reply->delay);
        }
        if (reply->error) std::rethrow_exception(reply->error);
        if (!reply->result) throw std::logic_error("FakeRouter: an empty Reply");
        reply->result->latency_ms += static_cast<double>(reply->delay.count());
        return *reply->result;
    }

    /// Appends to the script; a router built from a callable has none and throws.
    void push(Reply reply) {
        std::lock_guard lock(mutex_);
        if (respond_) throw std::logic_error("FakeRouter: push on a router without a script");
        script_.push_back(std::move(reply));
    }
    /// Every call so far, in order.
    std::vector<Call> requests() const {
        std::lock_guard lock(mutex_);
        return calls_;
    }
    /// The prompt of every call so far, in order.
    std::vector<std::vector<ChatMessage>> calls() const {
        std::lock_guard lock(mutex_);
        std::vector<std::vector<ChatMessage>> out;
        for (const auto& c : calls_) out.push_back(c.messages);
        return out;
    }
    std::size_t call_count() const {
        std::lock_guard lock(mutex_);
        return calls_.size();
    }

  private:
    std::optional<Responder> respond_;
    std::deque<Reply> script_;
    ManualClock* clock_ = nullptr;
    mutable std::mutex mutex_;
    std::vector<Call> calls_;
};

// --- the sinks -------------------------------------------------------------------------------

/// Keeps the next N operations of a recording sink failing; callers hold their own lock.
class FailNext {
  public:
    void set(std::size_t n, std::exception_ptr error) {
        left_ = n;
        error_ = std::move(error);
    }
    /// True (and one fewer left) when this operation must fail.
    bool take() {
        if (left_ == 0) return false;
        --left_;
        return true;
    }
    [[noreturn]] void throw_error() const { std::rethrow_exception(error_); }

  private:
    std::size_t left_ = 0;
    std::exception_ptr error_;
};

/// Records every proposal written. `fail_next(n)` makes the next n writes throw, by default
/// the ENOSPC std::system_error a full disk gives FileActionSink.
class RecordingActionSink final : public ActionSink {
  public:
    std::string write(const ActionProposal& proposal) override {
        std::lock_guard lock(mutex_);
        if (fail_.take()) fail_.throw_error();
        written_.push_back(proposal);
        return "memory:" + proposal.action_id;
    }
    /// The next `n` writes throw `error` and record nothing; 0 clears.
    void fail_next(std::size_t n = 1, std::exception_ptr error = disk_full()) {
        std::lock_guard lock(mutex_);
        fail_.set(n, std::move(error));
    }
    std::vector<ActionProposal> written() const {
        std::lock_guard lock(mutex_);
        return written_;
    }
    /// The proposals for one node/service, in order.
    std::vector<ActionProposal> written_for(std::string_view node, std::string_view service) const {
        std::lock_guard lock(mutex_);
        std::vector<ActionProposal> out;
        for (const auto& p : written_) {
            if (p.node == node && p.service == service) out.push_back(p);
        }
        return out;
    }

  private:
    mutable std::mutex mutex_;
    FailNext fail_;
    std::vector<ActionProposal> written_;
};

/// Records every planner event emitted. `fail_next(n)` makes the next n emits throw, by
/// default the ENOSPC std::system_error a full disk gives FileEventSink.
class RecordingEventSink final : public EventSink {
  public:
    std::string emit(const PlannerEvent& event) override {
        std::lock_guard lock(mutex_);
        if (fail_.take()) fail_.throw_error();
        emitted_.push_back(event);
        return "memory:" + event.type;
    }
    /// The next `n` emits throw `error` and record nothing; 0 clears.
    void fail_next(std::size_t n = 1, std::exception_ptr error = disk_full()) {
        std::lock_guard lock(mutex_);
        fail_.set(n, std::move(error));
    }
    std::vector<PlannerEvent> emitted() const {
        std::lock_guard lock(mutex_);
        return emitted_;
    }
    /// The events about one node/service (`payload.target_node` and `service`), in order.
    std::vector<PlannerEvent> emitted_for(std::string_view node, std::string_view service) const {
        std::lock_guard lock(mutex_);
        std::vector<PlannerEvent> out;
        for (const auto& e : emitted_) {
            if (e.service == service && e.payload.is_object() &&
                e.payload.value("target_node", "") == node) {
                out.push_back(e);
            }
        }
        return out;
    }

  private:
    mutable std::mutex mutex_;
    FailNext fail_;
    std::vector<PlannerEvent> emitted_;
};

/// One recorded log line.
struct LogLine {
    LogLevel level;
    std::string event;
    nlohmann::json fields;
};

/// Records every log line at every level. A log sink that cannot write loses the line and
/// throws nothing (JsonLinesLogSink on a full disk), so its failure is `drop_next(n)`.
class RecordingLogSink final : public LogSink {
  public:
    void log(LogLevel level, std::string_view event, const nlohmann::json& fields) override {
        std::lock_guard lock(mutex_);
        if (drop_ > 0) {
            --drop_;
            ++dropped_;
            return;
        }
        lines_.push_back({level, std::string(event), fields});
    }
    /// The next `n` lines are lost, as on a full disk; 0 clears.
    void drop_next(std::size_t n = 1) {
        std::lock_guard lock(mutex_);
        drop_ = n;
    }
    /// Lines lost to drop_next so far.
    std::size_t dropped() const {
        std::lock_guard lock(mutex_);
        return dropped_;
    }
    std::vector<LogLine> lines() const {
        std::lock_guard lock(mutex_);
        return lines_;
    }
    /// The lines named `event` (e.g. "chain_failed"), in order.
    std::vector<LogLine> lines(std::string_view event) const {
        std::lock_guard lock(mutex_);
        std::vector<LogLine> out;
        for (const auto& l : lines_) {
            if (l.event == event) out.push_back(l);
        }
        return out;
    }
    std::size_t count(std::string_view event) const { return lines(event).size(); }

  private:
    mutable std::mutex mutex_;
    std::vector<LogLine> lines_;
    std::size_t drop_ = 0;
    std::size_t dropped_ = 0;
};

}  // namespace planner::testing
