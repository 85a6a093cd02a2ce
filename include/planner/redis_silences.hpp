#pragma once

/// \file
/// Silences shared through Redis, for planner replicas on one Streams consumer group that do
/// not share a state directory: a silence added or expired through any of them (or through
/// planner-ctl) is in force at all of them within one sync interval. The state directory's
/// file stays the durable copy, so a Redis that restarts empty loses no silence
/// (docs/safety.md).

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "planner/clock.hpp"
#include "planner/log_sink.hpp"
#include "planner/redis_subscriber.hpp"
#include "planner/silence_store.hpp"

namespace planner {

struct RedisSilencesOptions {
    RedisUrl url{};
    /// Keys are `<prefix><silence id>`; planner-run and planner-ctl use
    /// `planner:<stream_group>:silence:`.
    std::string prefix = "planner:planner:silence:";
    /// Between two syncs of the background thread: how late a silence added elsewhere is seen.
    std::chrono::milliseconds interval{std::chrono::seconds{1}};
    /// How long a silence ended early stays in Redis after it ended, so a copy that has not yet
    /// heard of the expiry (a replica's file) cannot bring it back. Silences that run their
    /// course leave Redis at their end.
    std::chrono::seconds keep_expired{std::chrono::hours{24 * 7}};
    /// Bounds connecting and each command.
    std::chrono::milliseconds timeout{std::chrono::seconds{2}};
    /// Where a failed sync is reported, one warning per distinct reason: `silences_unreadable`
    /// (the file is not a silences file) or `silences_sync_failed` (Redis away, the file not
    /// writable); optional.
    LogSink* log = nullptr;
};

/// The silences of a SilenceStore (the file, authoritative and durable) and of Redis (shared),
/// merged per id: a silence either copy holds is in force, and of two copies of one silence the
/// one that ends earlier wins (expiring only shortens). `sync` makes both copies agree: what
/// only Redis holds is written to the file, what only the file holds (or holds expired) is
/// written to Redis as `SET <prefix><id> <silence JSON> PXAT <end>`, so Redis drops ended
/// silences by itself. `active_match` reads the merged view of the last sync and never waits
/// for Redis. While Redis is away, the file's silences and those last read from Redis stay in
/// force. Thread-safe; the store must outlive it.
class RedisSilences final : public Silences {
  public:
    RedisSilences(SilenceStore& file, RedisSilencesOptions options,
                  WallTimeSource wall = std::chrono::system_clock::now);
    /// Stops and joins the thread.
    ~RedisSilences() override;
    RedisSilences(const RedisSilences&) = delete;
    RedisSilences& operator=(const RedisSilences&) = delete;

    /// One sync on the caller's thread (the silences are in force before the first event),
    /// then one every interval on a thread of its own.
    void start();
    /// Wakes the thread and joins it. Idempotent.
    void stop();
    /// One exchange between the file and Redis. Never throws; false when Redis or the file
    /// could not be read or written (last_error() says why; the view keeps what it knew).
    bool sync();
    /// The merged silences as of the last sync, oldest first.
    std::vector<Silence> list() const;
    /// Why the last sync failed; empty after a good one.
    std::string last_error() const;

    std::optional<std::string> active_match(std::string_view key,
                                            std::chrono::system_clock::time_point now) override;

  private:
    struct Connection;
    std::vector<Silence> fetch();
    void put(const Silence& s, std::chrono::system_clock::time_point now);
    void report(std::string_view event, const std::string& error);

    SilenceStore& file_;
    RedisSilencesOptions options_;
    WallTimeSource wall_;
    std::unique_ptr<Connection> connection_;
    std::mutex sync_mutex_;  ///< one sync at a time
    std::vector<Silence> file_seen_;
    std::vector<Silence> redis_seen_;
    mutable std::mutex view_mutex_;
    std::vector<Silence> view_;
    std::string last_error_;
    std::mutex thread_mutex_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace planner
