#pragma once

/// A scripted LLMRouter: the pattern embedders copy to test their own agents without a model.

#include <functional>
#include <mutex>
#include <vector>

#include <planner/planner.hpp>

namespace planner::testing {

/// Answers every call with `respond(messages)`; records each call for assertions.
class FakeRouter final : public LLMRouter {
  public:
    using Responder = std::function<RouteResult(const std::vector<ChatMessage>&)>;

    explicit FakeRouter(Responder respond) : respond_(std::move(respond)) {}

    using LLMRouter::route;
    RouteResult route(const RouteRequest& request) override {
        {
            std::lock_guard lock(mutex_);
            calls_.push_back(request.messages);
        }
        return respond_(request.messages);
    }

    std::size_t call_count() const {
        std::lock_guard lock(mutex_);
        return calls_.size();
    }
    std::vector<std::vector<ChatMessage>> calls() const {
        std::lock_guard lock(mutex_);
        return calls_;
    }

  private:
    Responder respond_;
    mutable std::mutex mutex_;
    std::vector<std::vector<ChatMessage>> calls_;
};

/// A RouteResult as a model would produce it; the seed suite's `_make_route_result`.
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

/// The seed suite's `_health_event`.
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

}  // namespace planner::testing
