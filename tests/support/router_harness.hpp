#pragma once

/// Helpers shared by the router tests: attempt lists as text, and a sleep that only records.

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <planner/planner.hpp>
#include <planner/testing.hpp>

namespace planner::testing {

/// "model status" per attempt: compares in one CHECK and prints readably when it fails.
inline std::vector<std::string> attempt_list(const std::vector<AttemptRecord>& attempts) {
    std::vector<std::string> out;
    for (const auto& a : attempts) out.push_back(a.model + " " + std::string(to_string(a.status)));
    return out;
}

/// Stands in for the backoff sleep: records each pause and returns at once.
class SleepLog {
  public:
    std::function<void(std::chrono::milliseconds)> recorder() {
        return [this](std::chrono::milliseconds d) {
            std::lock_guard lock(mutex_);
            pauses_.push_back(d);
        };
    }
    std::vector<std::chrono::milliseconds> pauses() const {
        std::lock_guard lock(mutex_);
        return pauses_;
    }

  private:
    mutable std::mutex mutex_;
    std::vector<std::chrono::milliseconds> pauses_;
};

/// The messages the planner sends for a typical event.
inline std::vector<ChatMessage> event_messages(std::string event_type = "service_unhealthy",
                                               std::string node = "piha",
                                               std::string service = "mosquitto") {
    return build_messages(
        make_health_event(std::move(node), std::move(service), std::move(event_type)));
}

}  // namespace planner::testing

namespace planner::testing {

/// An HttpTransport answered by a function: for tests that need no socket at all.
class ScriptedTransport final : public HttpTransport {
  public:
    using Handler = std::function<HttpResponse(const HttpRequest&)>;
    explicit ScriptedTransport(Handler handler) : handler_(std::move(handler)) {}
    HttpResponse post(const HttpRequest& request) override { return handler_(request); }

  private:
    Handler handler_;
};

/// A chain that fails fast for tests: no retries, no real pauses, a short timeout.
inline ChainRouterOptions fast_chain_options(std::vector<ModelEntry> models) {
    ChainRouterOptions options;
    options.models = std::move(models);
    options.attempt_timeout = std::chrono::seconds{2};
    options.max_retries = 0;
    options.sleep = [](std::chrono::milliseconds) {};
    return options;
}

}  // namespace planner::testing
