#include "planner_run.hpp"

#include "run_options.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include <planner/action_store.hpp>
#include <planner/agent.hpp>
#include <planner/chain_router.hpp>
#include <planner/expiry_sweeper.hpp>
#include <planner/file_action_store.hpp>
#include <planner/file_sinks.hpp>
#include <planner/http_transport.hpp>
#include <planner/notifier.hpp>
#include <planner/planner_service.hpp>
#include <planner/redis_stream_intake.hpp>
#include <planner/redis_stream_producer.hpp>
#include <planner/url.hpp>
#include <planner/version.hpp>
#include "replay.hpp"

#include "config_options.hpp"
#include "heartbeat.hpp"
#include "http_server.hpp"
#include "journal_stream.hpp"
#include "line_reader.hpp"
#include "metrics.hpp"
#include "readiness.hpp"
#include "signals.hpp"
#include "systemd_notify.hpp"

namespace planner::cli {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

/// The chain as configured: the file's `models:` entries with their own settings and keys, or
/// the `--model` specs with the defaults. Throws for an unreadable key file or a bad setting.
std::vector<ModelEntry> chain_entries(const RunOptions& o) {
    if (o.config_models.empty()) return {o.models.begin(), o.models.end()};
    std::vector<ModelEntry> entries;
    for (const auto& m : o.config_models) {
        ModelEntry e(m.spec);
        e.timeout = m.timeout;
        if (!m.key_file.empty()) e.api_key = read_key_file(m.key_file);
        if (m.max_tokens) e.max_tokens = *m.max_tokens;
        if (m.schema_mode == "json_object") e.schema_mode = ModelEntry::SchemaMode::json_object;
        e.num_ctx = m.num_ctx;
        if (m.keep_alive) e.keep_alive = *m.keep_alive;
        entries.push_back(std::move(e));
    }
    return entries;
}

/// The file's `notify:` entries with their token and secret read from their files (the same
/// rules as API key files). Throws a one-line reason that names a file, never a secret.
std::vector<NotifyTarget> notify_targets(const RunOptions& o) {
    std::vector<NotifyTarget> targets;
    for (const auto& c : o.notify) {
        NotifyTarget t;
        t.format = c.type == "ntfy"     ? NotifyFormat::ntfy
                   : c.type == "gotify" ? NotifyFormat::gotify
                   : c.type == "slack"  ? NotifyFormat::slack
                                        : NotifyFormat::webhook;
        t.url = c.url;
        t.when = c.when == "always" ? NotifyWhen::always : NotifyWhen::requires_human;
        if (!c.token_file.empty()) t.token = read_key_file(c.token_file);
        if (!c.secret_file.empty()) t.secret = read_key_file(c.secret_file);
        t.headers = c.headers;
        t.priority = c.priority;
        t.tags = c.tags;
        t.name = c.name.empty() ? c.type + "#" + std::to_string(targets.size()) : c.name;
        targets.push_back(std::move(t));
    }
    return targets;
}

/// The model chain `o` describes, with its key files read now (so a reload rereads them).
/// Throws a one-line reason for an unreadable key file or a bad setting.
std::shared_ptr<LLMRouter> build_chain(const RunOptions& o) {
    ChainRouterOptions ro;
    ro.models = chain_entries(o);
    ro.endpoints = ProviderEndpoints::from_environment();
    if (!o.openai_key_file.empty()) ro.endpoints.openai_api_key = read_key_file(o.openai_key_file);
    if (!o.anthropic_key_file.empty()) {
        ro.endpoints.anthropic_api_key = read_key_file(o.anthropic_key_file);
    }
    ro.attempt_timeout = o.llm_timeout;
    return make_chain_router(ro);
}

/// The chain's entries as they may be logged: no userinfo, no key.
std::vector<std::string> redacted_models(const RunOptions& o) {
    std::vector<std::string> out;
    for (const auto& m : o.models) out.push_back(redact_url(m));
    return out;
}

/// This process in the Streams group: the node name and the pid, unique among replicas.
std::string consumer_name(const RunOptions& o) {
    return o.node + "-" + std::to_string(::getpid());
}

/// The Streams intake over the agent: each entry is dispatched with a settle callback, so it is
/// acknowledged only once the agent is done with it (DispatchOutcome::settled).
/// `seen` hears every state change too (the metrics' and readiness's view of Redis).
std::unique_ptr<RedisStreamIntake> make_stream_intake(const RunOptions& o, PlannerAgent& agent,
                                                      LogSink& log, SystemdNotifier& systemd,
                                                      std::function<void(RedisState)> seen) {
    RedisStreamIntakeOptions so;
    so.url = o.redis;
    so.streams = o.channels;
    so.group = o.stream_group;
    so.consumer = consumer_name(o);
    so.claim_idle = o.claim_idle;
    so.max_deliveries = o.max_deliveries;
    so.max_outstanding = agent.options().queue_capacity;
    return std::make_unique<RedisStreamIntake>(
        so,
        [&agent](std::string_view stream, std::string_view data, RedisStreamIntake::Settle settle) {
            agent.dispatch_text(stream, data,
                                [settle = std::move(settle)](const DispatchOutcome& outcome) {
                                    settle(outcome.settled());
                                });
        },
        log,
        [&log, &systemd, so, seen = std::move(seen)](RedisState state, std::string_view detail) {
            seen(state);
            if (state == RedisState::subscribed) {
                // Ready means reading the group: entries added before are kept for it anyway.
                systemd.ready("reading " + std::to_string(so.streams.size()) +
                              " streams as group " + so.group + " on " + so.url.redacted());
            }
            log.log(state == RedisState::disconnected ? LogLevel::warn : LogLevel::info,
                    "redis_state", {{"state", to_string(state)}, {"detail", detail}});
        });
}

/// What the assembly needs from the command line and the file: the typed settings, the chain
/// already built, the notify targets with their secrets read (not in --dry-run, which notifies
/// nobody), Redis sharing for replicas on a Streams group, and the event clock's time.
PlannerServiceOptions service_options(const RunOptions& o, std::shared_ptr<LLMRouter> chain,
                                      std::FILE* out, EventClock* event_clock) {
    PlannerServiceOptions so;
    so.actions_dir = o.actions_dir;
    so.events_dir = o.events_dir;
    so.state_dir = o.state_dir;
    if (o.dry_run) so.dry_run = out;
    so.node = o.node;
    so.agent.cooldown = o.cooldown;
    so.agent.proposal_ttl = o.proposal_ttl;
    so.agent.workers = o.workers;
    so.agent.queue_capacity = o.queue_size;
    so.agent.stop_grace = o.stop_grace;
    so.agent.wait_when_full = o.replay.has_value();  // a file can wait; Redis cannot
    so.agent.rules = o.rules;
    so.agent.prompt.topology = o.topology;
    so.chain = std::move(chain);
    if (!o.notify.empty() && !o.dry_run) so.notify = notify_targets(o);
    if (o.intake == IntakeKind::streams && !o.replay) {
        PlannerReplicaSharing sharing;
        sharing.url = o.redis;
        sharing.group = o.stream_group;
        sharing.owner = consumer_name(o);
        // Below claim_idle, so an entry claimed from a replica that died mid-plan finds its
        // key free again.
        sharing.planning_hold = std::max<std::chrono::milliseconds>(
            std::chrono::duration_cast<std::chrono::milliseconds>(o.claim_idle) / 2, 1ms);
        so.sharing = std::move(sharing);
    }
    if (event_clock != nullptr) {
        so.wall = event_clock->wall_source();
        so.steady = event_clock->steady_source();
    }
    return so;
}

int usage_error(std::FILE* err, const std::string& message) {
    fmt::print(err, "planner-run: {}\n", message);
    return kExitUsage;
}

}  // namespace

int run_planner(const RunOptions& o, std::FILE* out, std::FILE* err, const Reloader& reload) {
    std::unique_ptr<LogSink> base;
    // Under systemd, `<N>` priorities let journald file warnings as warnings.
    const bool journal = err == stderr && stderr_is_journal();
    if (o.log_format == LogFormat::json) {
        base = std::make_unique<JsonLinesLogSink>(err, o.log_level, std::chrono::system_clock::now,
                                                  journal);
    } else {
        base = std::make_unique<TextLogSink>(err, o.log_level, std::chrono::system_clock::now,
                                             journal);
    }
    RateLimitedLogSink log(*base);

    std::shared_ptr<LLMRouter> first_chain;
    try {
        first_chain = build_chain(o);
    } catch (const std::exception& e) {
        return usage_error(err, e.what());
    }
    // `--clock event`: every time-dependent part reads the events' own time (EventClock), so
    // a recorded day replays in seconds and its cooldowns, budgets, inhibition windows,
    // silences and proposal expiry behave as they did that day.
    std::unique_ptr<EventClock> event_clock;
    if (o.clock == ClockKind::event) event_clock = std::make_unique<EventClock>();

    // Sinks, store, silences, reservations, notifier, agent, sweeper and the seeding: one
    // assembly, shared with --eval and the benchmarks.
    std::unique_ptr<PlannerService> owned;
    try {
        owned = std::make_unique<PlannerService>(
            service_options(o, std::move(first_chain), out, event_clock.get()), log);
        if (!o.dry_run && !o.heartbeat.empty()) {
            prepare_output_directory(o.heartbeat.parent_path().empty() ? fs::path(".")
                                                                       : o.heartbeat.parent_path());
        }
    } catch (const std::exception& e) {
        return usage_error(err, e.what());
    }
    PlannerService& service = *owned;
    PlannerAgent& agent = service.agent();
    ActionStore* const store = service.store();
    Notifier* const notifier = service.notifier();

    int replay_fd = -1;
    if (o.replay) {
        replay_fd =
            *o.replay == "-" ? STDIN_FILENO : ::open(o.replay->c_str(), O_RDONLY | O_CLOEXEC);
        if (replay_fd < 0) {
            return usage_error(err, fmt::format("cannot read replay file {}: {}", *o.replay,
                                                std::strerror(errno)));
        }
    }
    const std::size_t budget_seeded = service.budget_seeded();
    const std::size_t escalation_seeded = service.escalation_seeded();
    // What GET /metrics serves (the HTTP listener calls metrics.scrape()): read at scrape time
    // from the counters kept anyway. The Redis gauge exists only when Redis is the intake.
    std::atomic<bool> redis_connected{false};
    ReloadCounters reloads;
    const MetricsExporter metrics(
        {agent, store, notifier, o.replay ? nullptr : &redis_connected, &reloads});

    nlohmann::json started = {{"version", PLANNER_VERSION_STRING},
                              {"node", o.node},
                              {"source", o.replay ? "replay:" + *o.replay : o.redis.redacted()},
                              {"clock", o.clock == ClockKind::event ? "event" : "wall"},
                              {"channels", o.channels},
                              {"intake", o.intake == IntakeKind::streams ? "streams" : "pubsub"},
                              {"models", redacted_models(o)},
                              {"actions_dir", o.dry_run ? "" : o.actions_dir.string()},
                              {"events_dir", o.dry_run ? "" : o.events_dir.string()},
                              {"cooldown_s", std::chrono::duration<double>(o.cooldown).count()},
                              {"workers", o.workers},
                              {"state_dir", o.dry_run ? "" : o.state_dir.string()},
                              {"proposal_ttl_s", o.proposal_ttl.count()},
                              {"dry_run", o.dry_run},
                              {"notify_targets", notifier ? o.notify.size() : 0},
                              {"budget_seeded", budget_seeded},
                              {"escalation_seeded", escalation_seeded},
                              {"config", o.config ? o.config->string() : "built-in"}};
    if (!o.config) {
        // One line, so the operator of a homelab that is not piha/solaria/vps learns how to
        // describe theirs.
        started["warning"] =
            "no --config: using the built-in example homelab (examples/planner.yaml: piha, "
            "solaria, vps, chelsty-infra); describe yours in a YAML file and pass --config FILE "
            "or PLANNER_CONFIG, see docs/configuration.md";
    }
    log.log(o.config ? LogLevel::info : LogLevel::warn, "planner_started", started);

    // The HTTP listener, on its own threads: it reads the agent's health and the store, never
    // the agent's queue, so no client can delay intake or planning. Bound before anything
    // starts, so an address in use is exit 2 like any other bad option.
    std::atomic<bool> intake_ready{false};
    // Before the listener, so it outlives every request that uses it.
    std::unique_ptr<RedisStreamProducer> alert_stream;
    std::unique_ptr<HttpServer> http;
    if (o.http_listen) {
        try {
            HttpServerOptions ho;
            ho.listen = *o.http_listen;
            if (!o.http_token_file.empty()) ho.token = read_key_file(o.http_token_file);
            ho.store = store;
            ho.health = [&]() -> std::optional<std::string> {
                const Health h = check_health(o, agent);
                if (h.healthy) return std::nullopt;
                return h.reason();
            };
            ho.ready = [&]() -> std::optional<std::string> {
                if (!intake_ready) {
                    return o.replay ? "replay not started yet"
                                    : "not subscribed to Redis (" + o.redis.redacted() + ")";
                }
                return unwritable_output(o);
            };
            ho.metrics = [&] { return metrics.scrape(); };
            // Alertmanager's alerts join the same intake as Redis's events: the same checks,
            // cooldown and coalescing. Accepted means queued or skipped, as for a PUBLISH.
            // With the Streams intake, accepted means added to the first stream (Redis gave it
            // an id), so an alert survives a planner restart like any producer's entry.
            if (o.intake == IntakeKind::streams) {
                RedisStreamProducerOptions po;
                po.url = o.redis;
                alert_stream = std::make_unique<RedisStreamProducer>(po);
            }
            ho.alerts = [&](std::string_view event) {
                if (alert_stream) {
                    try {
                        alert_stream->add(o.channels.front(), event);
                        return true;
                    } catch (const std::exception& e) {
                        log.log(LogLevel::warn, "alertmanager_not_stored", {{"error", e.what()}});
                        return false;
                    }
                }
                const auto r = agent.dispatch_text("alertmanager", event);
                return r != IntakeResult::queue_full && r != IntakeResult::stopped;
            };
            ho.alertmanager = o.alertmanager;
            if (!o.alertmanager_token_file.empty()) {
                ho.alerts_token = read_key_file(o.alertmanager_token_file);
            }
            http = std::make_unique<HttpServer>(std::move(ho), log);
            http->start();
        } catch (const std::exception& e) {
            return usage_error(err, e.what());
        }
    }

    // SIGHUP: a valid file swaps the rules, topology, cooldown, node name and model chain
    // between events; an invalid one (or an unreadable key file) leaves everything as it is.
    // Settings bound at start are reported, not applied.
    RunOptions current = o;
    const auto on_hangup = [&] {
        if (!reload) return;
        RunOptions next;
        const auto errors = reload(next);
        if (!errors.empty()) {
            const auto failures = reloads.failed.fetch_add(1) + 1;
            for (const auto& e : errors) {
                log.log(LogLevel::error, "config_reload_failed",
                        {{"error", e}, {"reload_failures", failures}});
            }
            return;
        }
        // Everything that can fail first, so a failure applies nothing.
        std::shared_ptr<LLMRouter> chain;
        try {
            chain = build_chain(next);
        } catch (const std::exception& e) {
            log.log(LogLevel::error, "config_reload_failed",
                    {{"error", e.what()}, {"reload_failures", reloads.failed.fetch_add(1) + 1}});
            return;
        }
        for (const auto& change : needs_restart(current, next)) {
            log.log(LogLevel::warn, "config_needs_restart",
                    {{"setting", change.setting},
                     {"running", change.running},
                     {"wanted", change.wanted}});
        }
        service.reload(PlannerServiceReload{.rules = next.rules,
                                            .topology = next.topology,
                                            .cooldown = next.cooldown,
                                            .node = next.node,
                                            .chain = std::move(chain)});
        current.rules = next.rules;
        current.topology = next.topology;
        current.cooldown = next.cooldown;
        current.node = next.node;
        current.models = next.models;
        current.config_models = next.config_models;
        current.llm_timeout = next.llm_timeout;
        current.openai_key_file = next.openai_key_file;
        current.anthropic_key_file = next.anthropic_key_file;
        std::size_t services = 0;
        for (const auto& n : next.topology.nodes) services += n.services.size();
        log.log(LogLevel::info, "config_reloaded",
                {{"config", next.config ? next.config->string() : "built-in"},
                 {"nodes", next.topology.nodes.size()},
                 {"services", services},
                 {"node", next.node},
                 {"cooldown_s", std::chrono::duration<double>(next.cooldown).count()},
                 {"models", redacted_models(next)},
                 {"reloads", reloads.succeeded.fetch_add(1) + 1}});
    };

    StopSignal stop;
    SignalThread signals(stop, log, on_hangup);
    service.start();
    SystemdNotifier systemd;
    std::unique_ptr<RedisStreamIntake> streams;  // outlives the agent's stop: see flush()
    std::thread heartbeat;
    if ((!o.heartbeat.empty() && !o.dry_run) || systemd.active()) {
        heartbeat = std::thread([&] { heartbeat_loop(o, agent, stop, log, systemd); });
    }

    if (o.replay) {
        systemd.ready("replaying " + *o.replay);
        intake_ready = true;
        std::size_t line_no = 0;
        // In event time the sweeper's real-time interval never comes round: sweep at its
        // interval of event time instead, so a proposal expires on disk when it did that day.
        std::optional<std::chrono::system_clock::time_point> swept_at;
        const auto sweep_in_event_time = [&] {
            const auto now = event_clock->wall_now();
            if (!store || (swept_at && now - *swept_at < ExpirySweeperOptions{}.interval)) return;
            swept_at = now;
            service.sweep_once();
        };
        for_each_line(replay_fd, stop, agent.options().max_message_bytes,
                      [&](std::string_view line) {
                          ++line_no;
                          if (event_clock) {
                              replay_line_in_event_time(agent, *event_clock, line, line_no, log,
                                                        sweep_in_event_time);
                          } else {
                              replay_line(agent, line);
                          }
                      });
        if (replay_fd != STDIN_FILENO) ::close(replay_fd);
        // --replay exits once the last event is planned, unless a signal comes first.
        while (!agent.wait_idle(200ms) && !stop.requested()) {
        }
    } else if (o.intake == IntakeKind::streams) {
        streams = make_stream_intake(o, agent, log, systemd, [&](RedisState state) {
            redis_connected = state == RedisState::subscribed;
            intake_ready = state == RedisState::subscribed;
        });
        streams->run(stop.flag());
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
                // Ready while subscribed: events published meanwhile are lost otherwise.
                redis_connected = state == RedisState::subscribed;
                intake_ready = state == RedisState::subscribed;
                if (state == RedisState::subscribed) {
                    // Ready means subscribed: before it, published events would be lost.
                    systemd.ready("subscribed to " + std::to_string(o.channels.size()) +
                                  " channels on " + o.redis.redacted());
                }
                log.log(state == RedisState::disconnected ? LogLevel::warn : LogLevel::info,
                        "redis_state", {{"state", to_string(state)}, {"detail", detail}});
            });
        subscriber.run(stop.flag());
    }

    stop.request();
    systemd.stopping();
    if (heartbeat.joinable()) heartbeat.join();
    if (http) http->stop();
    // The sweeper, the agent, then the notifier: what the agent stored last is still
    // delivered (each try bounded).
    const StopReport report = service.stop([&] {
        if (streams) streams->flush();  // what the agent finished while stopping is not redone
    });
    log.flush();
    const auto counters = agent.counters();
    auto summary = counters.to_json();
    summary["drained"] = report.drained;
    summary["log_lines_suppressed"] = log.suppressed_total();
    summary["config_reloads"] = reloads.succeeded.load();
    summary["config_reload_failures"] = reloads.failed.load();
    if (streams) {
        const auto st = streams->stats();
        summary["streams"] = {{"read", st.read},
                              {"acked", st.acked},
                              {"claimed", st.claimed},
                              {"dead_letters", st.dead},
                              {"malformed", st.malformed}};
    }
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
