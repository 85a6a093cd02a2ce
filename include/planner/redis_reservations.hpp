#pragma once

/// \file
/// SharedReservations in Redis, for planner replicas reading one Streams consumer group: each
/// node/service is planned once per cooldown across all of them, and a restarted planner
/// remembers the cooldowns (docs/scaling.md).

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "planner/redis_subscriber.hpp"
#include "planner/shared_reservations.hpp"

namespace planner {

struct RedisReservationsOptions {
    RedisUrl url{};
    /// Keys are `<prefix><node>/<service>`; planner-run uses `planner:<stream_group>:plan:`.
    std::string prefix = "planner:planner:plan:";
    /// Written into each key, so only the holder releases it (the consumer name).
    std::string owner = "planner";
    /// How long a reservation holds while its plan runs. A replica that dies while planning
    /// frees the key after this, so keep it below the intake's claim_idle: the entry claimed
    /// from the dead replica must find the key free. A plan that runs longer than this can be
    /// started a second time by another replica.
    std::chrono::milliseconds planning_hold{std::chrono::seconds{30}};
    /// Bounds connecting and each command.
    std::chrono::milliseconds timeout{std::chrono::seconds{2}};
};

/// `SET key owner NX PX planning_hold` to reserve, `SET key owner PX cooldown` once planned, a
/// compare-and-delete script to release. Keys expire by themselves.
class RedisReservations final : public SharedReservations {
  public:
    explicit RedisReservations(RedisReservationsOptions options);
    ~RedisReservations() override;
    RedisReservations(const RedisReservations&) = delete;
    RedisReservations& operator=(const RedisReservations&) = delete;

    bool try_reserve(std::string_view key) override;
    void planned(std::string_view key, std::chrono::milliseconds cooldown) override;
    void release(std::string_view key) override;

  private:
    struct Connection;
    RedisReservationsOptions options_;
    std::unique_ptr<Connection> connection_;
};

}  // namespace planner
