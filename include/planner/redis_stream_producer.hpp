#pragma once

/// \file
/// Adds events to the planner's streams (`XADD <stream> * data <event JSON>`), for a producer
/// that wants Redis's acknowledgement: an entry Redis has given an id is the planner's, even if
/// no planner runs yet (docs/scaling.md).

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "planner/redis_subscriber.hpp"

namespace planner {

struct RedisStreamProducerOptions {
    RedisUrl url{};
    /// Bounds connecting and each XADD: a frozen Redis is an error, not a hang.
    std::chrono::milliseconds timeout{std::chrono::seconds{2}};
    /// `MAXLEN ~ N` on every XADD, so a stream nobody reads stays bounded; 0: no trimming.
    std::size_t max_len = 100'000;
};

/// One connection, opened on first use and again after it was lost. Thread-safe: callers are
/// serialised on the connection.
class RedisStreamProducer {
  public:
    explicit RedisStreamProducer(RedisStreamProducerOptions options);
    ~RedisStreamProducer();
    RedisStreamProducer(const RedisStreamProducer&) = delete;
    RedisStreamProducer& operator=(const RedisStreamProducer&) = delete;

    /// Adds `data` to `stream` and returns the entry id Redis gave it. Reconnects once if the
    /// connection was lost; throws std::runtime_error (one line, no secret) when Redis did not
    /// take the entry.
    std::string add(std::string_view stream, std::string_view data);

  private:
    struct Connection;
    RedisStreamProducerOptions options_;
    std::unique_ptr<Connection> connection_;
};

}  // namespace planner
