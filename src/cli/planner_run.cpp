#include "planner_run.hpp"

#include "run_options.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include <planner/agent.hpp>
#include <planner/chain_router.hpp>
#include <planner/detail/json_limits.hpp>
#include <planner/detail/time.hpp>
#include <planner/file_sinks.hpp>
#include <planner/url.hpp>
#include <planner/version.hpp>

namespace planner::cli {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

/// Dry run: each proposal as one JSON line, nothing on disk.
class StdoutActionSink final : public ActionSink {
  public:
    explicit StdoutActionSink(std::FILE* out) : out_(out) {}
    std::string write(const ActionProposal& proposal) override {
        const std::string line = detail::dump_lenient(proposal.to_action_file()) + "\n";
        std::lock_guard lock(mutex_);
        if (std::fwrite(line.data(), 1, line.size(), out_) != line.size() ||
            std::fflush(out_) != 0) {
            throw std::runtime_error("cannot write to stdout");
        }
        return "stdout";
    }

  private:
    std::FILE* out_;
    std::mutex mutex_;
};

class NullEventSink final : public EventSink {
  public:
    std::string emit(const PlannerEvent&) override { return "dry-run"; }
};

/// The one stop request: set by the signal thread or the end of a replay, waited on by loops.
class StopSignal {
  public:
    void request() {
        {
            std::lock_guard lock(mutex_);
            requested_ = true;
        }
        changed_.notify_all();
    }
    /// Sleeps for `d` unless a stop is requested first; true when stop was requested.
    bool wait_for(std::chrono::milliseconds d) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, d, [this] { return requested_.load(); });
    }
    bool requested() const { return requested_.load(); }
    const std::atomic<bool>& flag() const { return requested_; }

  private:
    std::atomic<bool> requested_{false};
    std::mutex mutex_;
    std::condition_variable changed_;
};

/// Takes SIGINT and SIGTERM synchronously with sigtimedwait, so nothing runs in a handler. The
/// first signal asks for a graceful stop; a second one while stopping exits at once (files are
/// written atomically, so that leaves nothing half-written under a final name).
class SignalThread {
  public:
    SignalThread(StopSignal& stop, LogSink& log) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        // The thread starts with the signals blocked (main() blocks them for every thread; this
        // covers a caller that did not), so the destructor's wake-up is never a kill.
        sigset_t previous;
        pthread_sigmask(SIG_BLOCK, &set, &previous);
        thread_ = std::thread([this, set, &stop, &log] {
            const timespec tick{0, 200'000'000};
            while (!done_.load()) {
                const int sig = sigtimedwait(&set, nullptr, &tick);
                if (sig <= 0 || done_.load()) continue;
                const char* name = sig == SIGINT ? "SIGINT" : "SIGTERM";
                if (stop.requested()) {
                    log.log(LogLevel::warn, "forced_exit", {{"signal", name}});
                    std::_Exit(kExitUnhealthy);
                }
                log.log(LogLevel::info, "stop_requested", {{"signal", name}});
                stop.request();
            }
        });
        pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    }
    ~SignalThread() {
        done_ = true;
        // Wake sigtimedwait now instead of at its next tick: every exit, and so every
        // --replay run, took up to 200 ms longer than its work.
        pthread_kill(thread_.native_handle(), SIGTERM);
        thread_.join();
    }
    SignalThread(const SignalThread&) = delete;
    SignalThread& operator=(const SignalThread&) = delete;

  private:
    std::atomic<bool> done_{false};
    std::thread thread_;
};

/// Touches the heartbeat file every interval while the planner is healthy. Healthy means no
/// router call has been running longer than the whole chain could take: a wedged worker stops
/// the heartbeat, and the healthcheck restarts the process. Redis being away does not: the
/// subscriber reconnects by itself and a restart would not bring Redis back.
void heartbeat_loop(const RunOptions& o, const PlannerAgent& agent, StopSignal& stop,
                    LogSink& log) {
    const auto stuck_after = o.llm_timeout * static_cast<long>(o.models.size()) * 3 + 60s;
    const fs::path dir =
        o.heartbeat.parent_path().empty() ? fs::path(".") : o.heartbeat.parent_path();
    const std::string name = o.heartbeat.filename().string();
    bool paused = false;
    bool write_failed = false;
    do {
        const bool healthy = agent.oldest_in_flight_age() < stuck_after;
        if (healthy != !paused) {
            paused = !healthy;
            log.log(paused ? LogLevel::warn : LogLevel::info,
                    paused ? "heartbeat_paused" : "heartbeat_resumed",
                    {{"stuck_after_s", std::chrono::duration<double>(stuck_after).count()}});
        }
        if (!healthy) continue;
        try {
            const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (fd < 0) throw std::system_error(errno, std::generic_category(), dir.string());
            try {
                detail::write_file_atomically(
                    fd, name, detail::format_iso8601_utc(std::chrono::system_clock::now()) + "\n",
                    /*fsync=*/false, dir / name);
            } catch (...) {
                ::close(fd);
                throw;
            }
            ::close(fd);
            write_failed = false;
        } catch (const std::exception& e) {
            if (!write_failed) {
                log.log(LogLevel::error, "heartbeat_failed",
                        {{"path", o.heartbeat.string()}, {"error", e.what()}});
            }
            write_failed = true;
        }
    } while (!stop.wait_for(o.heartbeat_interval));
}

/// Calls `on_line` for each line of `fd`; waits with poll so a stop request interrupts a read
/// from an idle pipe. A line longer than `max_line` is passed cut to `max_line + 1` bytes, which
/// the agent rejects by size, instead of being held in memory whole.
void for_each_line(int fd, const StopSignal& stop, std::size_t max_line,
                   const std::function<void(std::string_view)>& on_line) {
    std::string line;
    bool overflow = false;
    char buf[65536];
    while (!stop.requested()) {
        pollfd p{fd, POLLIN, 0};
        const int ready = ::poll(&p, 1, 200);
        if (ready < 0 && errno != EINTR) break;
        if (ready <= 0) continue;
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) break;
        for (std::string_view chunk(buf, static_cast<std::size_t>(n)); !chunk.empty();) {
            const auto nl = chunk.find('\n');
            const auto part = chunk.substr(0, nl);
            if (line.size() + part.size() > max_line) {
                line.append(part.substr(0, max_line + 1 - line.size()));
                overflow = true;
            } else if (!overflow) {
                line.append(part);
            }
            if (nl == std::string_view::npos) break;
            on_line(line);
            line.clear();
            overflow = false;
            chunk.remove_prefix(nl + 1);
        }
    }
    if (!line.empty() && !stop.requested()) on_line(line);
}

/// One replay line: an event object, or a `{"channel": ..., "data": ...}` message.
void replay_line(PlannerAgent& agent, std::string_view line) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    if (line.empty() || line.front() == '#') return;
    const std::size_t depth = agent.options().limits.max_payload_depth + 2;
    if (line.size() <= agent.options().max_message_bytes &&
        !detail::json_text_exceeds_depth(line, depth)) {
        const auto doc = nlohmann::json::parse(line, nullptr, false);
        if (doc.is_object() && doc.contains("data") && !doc.contains("node")) {
            const auto channel = doc.find("channel");
            agent.dispatch(channel != doc.end() && channel->is_string()
                               ? channel->get_ref<const std::string&>()
                               : std::string("replay"),
                           doc["data"]);
            return;
        }
    }
    agent.dispatch_text("replay", line);
}

int usage_error(std::FILE* err, const std::string& message) {
    fmt::print(err, "planner-run: {}\n", message);
    return kExitUsage;
}

}  // namespace

int check_heartbeat(const fs::path& heartbeat, std::chrono::milliseconds max_age,
                    std::chrono::system_clock::time_point now) {
    struct stat st {};
    if (::stat(heartbeat.c_str(), &st) != 0) return kExitUnhealthy;
    const auto modified = std::chrono::system_clock::time_point{
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds{st.st_mtim.tv_sec} +
            std::chrono::nanoseconds{st.st_mtim.tv_nsec})};
    return now - modified < max_age ? kExitOk : kExitUnhealthy;
}

int run_planner(const RunOptions& o, std::FILE* out, std::FILE* err) {
    std::unique_ptr<LogSink> base;
    if (o.log_format == LogFormat::json) {
        base = std::make_unique<JsonLinesLogSink>(err, o.log_level);
    } else {
        base = std::make_unique<TextLogSink>(err, o.log_level);
    }
    RateLimitedLogSink log(*base);

    std::unique_ptr<LLMRouter> router;
    try {
        ChainRouterOptions ro;
        ro.models = o.models;
        ro.endpoints = ProviderEndpoints::from_environment();
        if (!o.openai_key_file.empty())
            ro.endpoints.openai_api_key = read_key_file(o.openai_key_file);
        if (!o.anthropic_key_file.empty()) {
            ro.endpoints.anthropic_api_key = read_key_file(o.anthropic_key_file);
        }
        ro.attempt_timeout = o.llm_timeout;
        router = make_chain_router(ro);
    } catch (const std::exception& e) {
        return usage_error(err, e.what());
    }

    std::unique_ptr<ActionSink> actions;
    std::unique_ptr<EventSink> events;
    if (o.dry_run) {
        actions = std::make_unique<StdoutActionSink>(out);
        events = std::make_unique<NullEventSink>();
    } else {
        try {
            actions = std::make_unique<FileActionSink>(o.actions_dir);
            events =
                std::make_unique<FileEventSink>(o.events_dir, [node = o.node] { return node; });
            if (!o.heartbeat.empty()) {
                prepare_output_directory(
                    o.heartbeat.parent_path().empty() ? fs::path(".") : o.heartbeat.parent_path());
            }
        } catch (const std::exception& e) {
            return usage_error(err, e.what());
        }
    }

    int replay_fd = -1;
    if (o.replay) {
        replay_fd =
            *o.replay == "-" ? STDIN_FILENO : ::open(o.replay->c_str(), O_RDONLY | O_CLOEXEC);
        if (replay_fd < 0) {
            return usage_error(err, fmt::format("cannot read replay file {}: {}", *o.replay,
                                                std::strerror(errno)));
        }
    }

    PlannerAgentOptions ao;
    ao.cooldown = o.cooldown;
    ao.workers = o.workers;
    ao.queue_capacity = o.queue_size;
    ao.stop_grace = o.stop_grace;
    ao.wait_when_full = o.replay.has_value();  // a file can wait; Redis cannot
    PlannerAgent agent(ao, *router, *actions, *events, log);

    std::vector<std::string> models;
    for (const auto& m : o.models) models.push_back(redact_url(m));
    log.log(LogLevel::info, "planner_started",
            {{"version", PLANNER_VERSION_STRING},
             {"node", o.node},
             {"source", o.replay ? "replay:" + *o.replay : o.redis.redacted()},
             {"channels", o.channels},
             {"models", models},
             {"actions_dir", o.dry_run ? "" : o.actions_dir.string()},
             {"events_dir", o.dry_run ? "" : o.events_dir.string()},
             {"cooldown_s", std::chrono::duration<double>(o.cooldown).count()},
             {"workers", o.workers},
             {"dry_run", o.dry_run}});

    StopSignal stop;
    SignalThread signals(stop, log);
    agent.start();
    std::thread heartbeat;
    if (!o.heartbeat.empty() && !o.dry_run) {
        heartbeat = std::thread([&] { heartbeat_loop(o, agent, stop, log); });
    }

    if (o.replay) {
        for_each_line(replay_fd, stop, agent.options().max_message_bytes,
                      [&](std::string_view line) { replay_line(agent, line); });
        if (replay_fd != STDIN_FILENO) ::close(replay_fd);
        // --replay exits once the last event is planned, unless a signal comes first.
        while (!agent.wait_idle(200ms) && !stop.requested()) {
        }
    } else {
        RedisSubscriberOptions so;
        so.url = o.redis;
        so.channels = o.channels;
        RedisSubscriber subscriber(
            so,
            [&](std::string_view channel, std::string_view data) {
                agent.dispatch_text(channel, data);
            },
            [&](RedisState state, std::string_view detail) {
                log.log(state == RedisState::disconnected ? LogLevel::warn : LogLevel::info,
                        "redis_state", {{"state", to_string(state)}, {"detail", detail}});
            });
        subscriber.run(stop.flag());
    }

    stop.request();
    if (heartbeat.joinable()) heartbeat.join();
    const StopReport report = agent.stop();
    log.flush();
    const auto counters = agent.counters();
    auto summary = counters.to_json();
    summary["drained"] = report.drained;
    summary["log_lines_suppressed"] = log.suppressed_total();
    log.log(LogLevel::info, "planner_stopped", summary);
    if (report.still_in_flight > 0) {
        // A model call outlived the grace period; its answer would be dropped anyway, and
        // waiting for it could take the whole attempt timeout. Files are atomic: leave now.
        std::fflush(out);
        std::fflush(err);
        std::_Exit(kExitOk);
    }
    return kExitOk;
}

}  // namespace planner::cli
