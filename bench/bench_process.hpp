#pragma once

/// \file
/// Child processes and a private redis-server for the benchmarks that drive real programs: the
/// tests' own helpers (tests/support/process.hpp, redis_server.hpp), with the benchmarks'
/// settings. Every child is killed when its handle goes out of scope, and by the kernel
/// (PDEATHSIG) if the benchmark itself dies, so no run leaves a redis-server or planner-run
/// behind.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <hiredis/hiredis.h>

#include "bench_common.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"

namespace bench {

using planner::testing::Process;
using planner::testing::read_text;
using planner::testing::RedisServer;
using planner::testing::Stream;

/// A child with the benchmarks' settings: stdout and stderr where given (default: ours, so a
/// helper's errors show), killed with the benchmark (PDEATHSIG), and on destruction SIGTERM
/// with a grace period, so planner-run still prints its exit summary.
class Child : public Process {
  public:
    explicit Child(std::vector<std::string> argv, Stream out = Stream::inherit(),
                   Stream err = Stream::inherit())
        : Process(planner::testing::ProcessOptions{.argv = std::move(argv),
                                                   .stdin_stream = Stream::inherit(),
                                                   .stdout_stream = std::move(out),
                                                   .stderr_stream = std::move(err),
                                                   .die_with_parent = true,
                                                   .stop_grace = std::chrono::seconds{5}}) {}

    /// When it was started, in now_ns() time: the "exec" instant of exec-to-ready figures.
    std::int64_t started_ns() const {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(started().time_since_epoch())
            .count();
    }
};

/// The tests' redis-server with the benchmarks' settings, plus one connection kept for polling
/// (a poll costs a round trip, not a connect) with a 1 s timeout, so a stuck server fails the
/// benchmark instead of hanging it. Pub/sub output buffers are unlimited: the default 32 MiB
/// hard limit would disconnect whichever subscriber is momentarily behind a 500 000-event
/// burst, and then the figure would measure Redis's eviction, not the subscriber.
class Redis : public RedisServer {
  public:
    explicit Redis(const std::string& binary = "redis-server")
        : RedisServer(planner::testing::RedisServerOptions{
              .extra_args = {"--client-output-buffer-limit", "pubsub 0 0 0", "--loglevel",
                             "warning"},
              .binary = binary,
              .die_with_parent = true}),
          control_(connect()) {
        if (!control_)
            throw std::runtime_error("redis: cannot connect on port " + std::to_string(port()));
        redisSetTimeout(control_.get(), timeval{1, 0});
    }

    redisContext* control() const noexcept { return control_.get(); }

  private:
    ContextPtr control_;
};

/// Subscribers of `channel`; throws when Redis does not answer.
inline long long redis_subscribers(redisContext* c, const std::string& channel) {
    const long long n = planner::testing::redis_subscribers(c, channel);
    if (n < 0) throw std::runtime_error("redis: no PUBSUB NUMSUB reply for " + channel);
    return n;
}

/// Polls until `channel` has at least `n` subscribers; returns when that was first seen (now_ns
/// time), or throws after `timeout`.
inline std::int64_t wait_for_subscribers(redisContext* c, const std::string& channel, long long n,
                                         std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (redis_subscribers(c, channel) < n) {
        if (std::chrono::steady_clock::now() >= until) {
            throw std::runtime_error("timed out waiting for " + std::to_string(n) +
                                     " subscribers on " + channel);
        }
        std::this_thread::sleep_for(std::chrono::microseconds{200});
    }
    return now_ns();
}

/// The last line of `text` that parses as a JSON object, or null.
inline nlohmann::json last_json_line(const std::string& text) {
    std::istringstream in(text);
    std::string line;
    nlohmann::json last;
    while (std::getline(in, line)) {
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_object()) last = std::move(j);
    }
    return last;
}

/// Stops planner-run (SIGTERM, 30 s grace) and returns its exit summary, the last JSON line of
/// its stderr file `err`; throws when it did not stop cleanly or printed none.
inline nlohmann::json stop_planner(Child& planner, const std::filesystem::path& err) {
    if (planner.stop(std::chrono::seconds{30}) != 0) {
        throw std::runtime_error("planner-run did not stop cleanly");
    }
    auto summary = last_json_line(read_text(err));
    if (summary.value("event", "") != "planner_stopped") {
        throw std::runtime_error("planner-run printed no exit summary");
    }
    return summary;
}

/// Directory of the running program, to find the helper programs built beside it.
inline std::filesystem::path self_dir() {
    return std::filesystem::read_symlink("/proc/self/exe").parent_path();
}

}  // namespace bench
