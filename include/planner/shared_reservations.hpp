#pragma once

/// \file
/// What several planners on one bus agree on, so a node/service is planned once however many
/// of them receive its events: the seam the agent calls, and that a shared store implements
/// (RedisReservations for replicas on Redis Streams).

#include <chrono>
#include <string_view>

namespace planner {

/// Keys are `node/service`. Implementations are thread-safe; the agent calls try_reserve from
/// the intake thread and the other two from its workers. A call that throws is logged and
/// treated as if there were no shared store (the planner's own cooldown still holds).
class SharedReservations {
  public:
    virtual ~SharedReservations() = default;

    /// True when this planner may plan `key` now, which reserves it: no planner is planning it
    /// and none planned it within its cooldown. False: leave the event to the one that has it.
    virtual bool try_reserve(std::string_view key) = 0;
    /// The plan succeeded (a proposal, or `ignore`): every planner holds `key` off for
    /// `cooldown` from now.
    virtual void planned(std::string_view key, std::chrono::milliseconds cooldown) = 0;
    /// The plan failed (no model answered, the file could not be written, stopped): the next
    /// event for `key`, at any planner, may try at once.
    virtual void release(std::string_view key) = 0;
};

}  // namespace planner
