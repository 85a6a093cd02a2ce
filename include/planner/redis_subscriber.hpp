#pragma once

/// \file
/// Redis pub/sub intake that survives Redis restarts and stays responsive to shutdown.

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "planner/redis_url.hpp"

namespace planner {

/// What the subscriber is doing; each change is reported once.
enum class RedisState { connecting, subscribed, disconnected, stopped };

std::string_view to_string(RedisState state) noexcept;

struct RedisSubscriberOptions {
    RedisUrl url{};
    std::vector<std::string> channels{"health_events", "world_updates"};
    std::chrono::milliseconds connect_timeout{2'000};
    /// How often a blocked read wakes up to check for a stop request.
    std::chrono::milliseconds poll_interval{100};
    std::chrono::milliseconds reconnect_initial{100};
    std::chrono::milliseconds reconnect_max{10'000};
};

/// Subscribes and calls `on_message` for every pub/sub message until asked to stop.
class RedisSubscriber {
  public:
    using MessageHandler = std::function<void(std::string_view channel, std::string_view data)>;
    using StateHandler = std::function<void(RedisState state, std::string_view detail)>;

    RedisSubscriber(RedisSubscriberOptions options, MessageHandler on_message,
                    StateHandler on_state = {});

    /// Blocks, reconnecting with capped exponential backoff, until `stop` becomes true; then
    /// returns within about one poll interval. Never throws for Redis being away.
    void run(const std::atomic<bool>& stop);

  private:
    RedisSubscriberOptions options_;
    MessageHandler on_message_;
    StateHandler on_state_;
};

}  // namespace planner
