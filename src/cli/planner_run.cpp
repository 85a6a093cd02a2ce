#include "planner_run.hpp"

#include "run_options.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include <planner/action_store.hpp>
#include <planner/agent.hpp>
#include <planner/chain_router.hpp>
#include <planner/expiry_sweeper.hpp>
#include <planner/file_sinks.hpp>
#include <planner/replay.hpp>
#include <planner/stream_sinks.hpp>
#include <planner/url.hpp>
#include <planner/version.hpp>

#include "heartbeat.hpp"
#include "line_reader.hpp"
#include "signals.hpp"

namespace planner::cli {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

int usage_error(std::FILE* err, const std::string& message) {
    fmt::print(err, "planner-run: {}\n", message);
    return kExitUsage;
}

}  // namespace

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
    // The approval workflow's view of the same directory: one pending proposal per service
    // (also across restarts) and the expiry sweep. The state directory holds the audit log;
    // PLANNER_STATE_DIR until run_options has --state-dir, else the actions directory's parent
    // (/var/lib/homelab-planner with the defaults).
    std::unique_ptr<ActionStore> store;
    if (o.dry_run) {
        actions = std::make_unique<StreamActionSink>(out);
        events = std::make_unique<NullEventSink>();
    } else {
        try {
            actions = std::make_unique<FileActionSink>(o.actions_dir);
            events =
                std::make_unique<FileEventSink>(o.events_dir, [node = o.node] { return node; });
            ActionStoreOptions so;
            so.actions_dir = o.actions_dir;
            so.state_dir = process_env("PLANNER_STATE_DIR")
                               .value_or(o.actions_dir.parent_path().empty()
                                             ? std::string(".")
                                             : o.actions_dir.parent_path().string());
            store = std::make_unique<ActionStore>(so, events.get());
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
    PlannerAgent agent(ao, *router, *actions, *events, log, std::chrono::steady_clock::now,
                       std::chrono::system_clock::now, store.get());

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
    std::unique_ptr<ExpirySweeper> sweeper;
    if (store) {
        sweeper = std::make_unique<ExpirySweeper>(*store, log);
        sweeper->start();
    }
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
    if (sweeper) sweeper->stop();
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
