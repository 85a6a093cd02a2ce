#pragma once

/// \file
/// Redis Streams intake: a consumer in a consumer group, so that nothing published is lost while
/// the planner is down or restarting, and several planners can share one bus. An entry is
/// acknowledged (XACK) only once the agent settled it; entries a dead consumer left pending are
/// claimed (XAUTOCLAIM) after `claim_idle`, and one delivered more than `max_deliveries` times
/// goes to `<stream>:dead` instead of blocking the rest. docs/scaling.md.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "planner/log_sink.hpp"
#include "planner/redis_subscriber.hpp"

namespace planner {

struct RedisStreamIntakeOptions {
    RedisUrl url{};
    /// Stream keys; producers `XADD <stream> * data <event JSON>`.
    std::vector<std::string> streams{"health_events", "world_updates"};
    /// The consumer group, created (`XGROUP CREATE ... $ MKSTREAM`) when missing.
    std::string group = "planner";
    /// This process in the group; planner-run uses `<node>-<pid>`, so a restart is a new
    /// consumer and the old one's entries are claimed. Empty: `planner-<pid>`.
    std::string consumer;
    /// Pending this long without progress, an entry is taken over from its (dead) consumer.
    std::chrono::milliseconds claim_idle{std::chrono::seconds{60}};
    /// An entry delivered more often than this is copied to `<stream>:dead` and acknowledged.
    std::size_t max_deliveries = 5;
    /// Backpressure: at most this many entries handed to the handler and not yet settled (the
    /// agent's queue capacity), so the agent never has to refuse one. At least one per stream.
    std::size_t max_outstanding = 1024;
    /// COUNT of one XREADGROUP or XAUTOCLAIM, per stream. While a read comes back full (a
    /// backlog), the next is sent before this one is handed over, so Redis and the handler
    /// work at the same time; docs/scaling.md.
    std::size_t batch = 256;
    std::chrono::milliseconds connect_timeout{2'000};
    /// How long one XREADGROUP blocks, and how often a wait checks for a stop request.
    std::chrono::milliseconds poll_interval{100};
    std::chrono::milliseconds reconnect_initial{100};
    std::chrono::milliseconds reconnect_max{10'000};
};

/// What the intake did since it was made; for tests and the exit summary.
struct RedisStreamStats {
    std::uint64_t read = 0;       ///< entries handed to the handler (claimed ones included)
    std::uint64_t acked = 0;      ///< XACKed after being settled (dead letters included)
    std::uint64_t claimed = 0;    ///< taken over with XAUTOCLAIM
    std::uint64_t dead = 0;       ///< copied to `<stream>:dead`
    std::uint64_t malformed = 0;  ///< entries without a `data` field (acknowledged)
};

/// Reads a consumer group and hands every entry's `data` to the handler with a settle callback.
class RedisStreamIntake {
  public:
    /// Called exactly once per handed-over entry, from any thread: true acknowledges it (it is
    /// finished), false leaves it pending to be delivered again after `claim_idle`.
    using Settle = std::function<void(bool ack)>;
    using EntryHandler =
        std::function<void(std::string_view stream, std::string_view data, Settle settle)>;
    using StateHandler = RedisSubscriber::StateHandler;

    /// `log` gets dead letters, claims and malformed entries; it must outlive the intake.
    RedisStreamIntake(RedisStreamIntakeOptions options, EntryHandler on_entry, LogSink& log,
                      StateHandler on_state = {});
    ~RedisStreamIntake();
    RedisStreamIntake(const RedisStreamIntake&) = delete;
    RedisStreamIntake& operator=(const RedisStreamIntake&) = delete;

    /// Blocks, reconnecting with capped exponential backoff, until `stop` becomes true; then
    /// returns within about one poll interval. Never throws for Redis being away. Reports
    /// `subscribed` once the groups exist and reading starts.
    void run(const std::atomic<bool>& stop);

    /// Acknowledges what was settled after run() returned (call it after the agent stopped,
    /// so the entries it drained are not delivered again). One connection, best effort: what it
    /// cannot acknowledge stays pending and is claimed later, which is safe.
    void flush();

    RedisStreamStats stats() const;
    const RedisStreamIntakeOptions& options() const noexcept { return options_; }

    /// Internals, defined in the source file: settlements handed back by other threads
    /// (outliving the intake if need be), and what survives a reconnect.
    struct Shared;
    struct Session;

  private:
    RedisStreamIntakeOptions options_;
    EntryHandler on_entry_;
    LogSink& log_;
    StateHandler on_state_;
    std::shared_ptr<Shared> shared_;
    std::unique_ptr<Session> session_;  ///< outstanding entries and acknowledgements owed
};

}  // namespace planner
