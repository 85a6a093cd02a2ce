/// Figure 2: what the planner itself costs per actionable event, with a router that answers
/// at once, so only the planner's own work (parse, cooldown, prompt, validation, policy, JSON,
/// log line, files) is on the clock.
///
///  - own work: parse + handle_event on this thread, into sinks that serialise the action and
///    event JSON exactly as the file sinks do but keep them in memory. The target figure.
///  - dispatch to durable file: dispatch_text on this thread, the agent's worker plans and
///    FileActionSink writes; the clock stops when write() returns. One event at a time
///    (latency) and a burst (throughput), without and with fsync.
///  - the plain fsync loop on the same directory: the disk's own number.
///  - end to end: PUBLISH on a private redis-server, the product's RedisSubscriber,
///    dispatch_text, the worker, the chain router with the rules provider, FileActionSink with
///    fsync; the clock runs from just before PUBLISH until write() returns (the file is
///    durable), beside the plain fsync loop on the same directory.
///
/// `--pin CPU` binds the whole process (every thread it starts) to one CPU, as `taskset -c CPU`
/// would, so the figures do not include migrations between cores.

#include <sched.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <planner/agent.hpp>
#include <planner/agent_testing.hpp>
#include <planner/chain_router.hpp>
#include <planner/detail/time.hpp>
#include <planner/file_sinks.hpp>
#include <planner/log.hpp>
#include <planner/planner.hpp>
#include <planner/planner_service.hpp>
#include <planner/redis_subscriber.hpp>

#include "bench_common.hpp"
#include "bench_process.hpp"
#include "fsync_loop.hpp"

namespace {

/// An event for service `svc-<i>`: a distinct key each time, so nothing is coalesced or in
/// cooldown and every event is planned.
std::string event_text(long i) {
    return R"({"node":"piha","service":"svc-)" + std::to_string(i) +
           R"(","type":"container_unhealthy","severity":"error","timestamp":1780000000,)"
           R"("payload":{"exit_code":137,"restarts":3,"message":"healthcheck failed"}})";
}

/// The value of `"key": "..."` in the prompt's event block; what a model would echo.
std::string prompt_field(const std::string& text, const std::string& key) {
    const std::string needle = "\"" + key + "\": \"";
    const auto start = text.find(needle);
    if (start == std::string::npos) return {};
    const auto from = start + needle.size();
    return text.substr(from, text.find('"', from) - from);
}

/// A model that answers instantly, and the schema check every real answer goes through in the
/// chain router, so validation is on the clock as in production.
class InstantRouter final : public planner::LLMRouter {
  public:
    planner::RouteResult route(const planner::RouteRequest& request) override {
        // Read from the prompt, as a model would, so the bench still pays for the prompt.
        const auto& user = request.messages.back().content;
        planner::RouteResult r;
        r.content = {{"action", "restart"},
                     {"service", prompt_field(user, "service")},
                     {"node", prompt_field(user, "node")},
                     {"reason", "container unhealthy after a reboot; a restart clears it"},
                     {"confidence", 0.9},
                     {"requires_human", false}};
        if (!planner::validate_proposal(r.content).empty()) {
            throw planner::RouteError("invalid answer", {});
        }
        r.model_used = "bench/instant";
        r.attempts = {{"bench/instant", planner::AttemptStatus::success, "", 0.0}};
        return r;
    }
};

/// Serialises with the file sinks' own functions and keeps only the size: the JSON work (and
/// the event file's timestamp) without the disk.
class MemoryActionSink final : public planner::ActionSink {
  public:
    std::string write(const planner::ActionProposal& p) override {
        bytes += planner::action_file_text(p).size();
        return p.action_id;
    }
    std::size_t bytes = 0;
};

class MemoryEventSink final : public planner::EventSink {
  public:
    std::string emit(const planner::PlannerEvent& e) override {
        bytes +=
            planner::event_file_text(
                e, node_, planner::detail::format_iso8601_utc(std::chrono::system_clock::now()))
                .size();
        return e.correlation_id;
    }
    std::size_t bytes = 0;

  private:
    const std::string node_ = "bench";
};

/// Stamps the moment the inner sink's write returned, i.e. the action file is durable.
class TimedActionSink final : public planner::ActionSink {
  public:
    explicit TimedActionSink(planner::ActionSink& inner) : inner_(inner) {}
    std::string write(const planner::ActionProposal& p) override {
        auto where = inner_.write(p);
        last_ns.store(bench::now_ns());
        {
            std::lock_guard lock(mutex_);
            written.fetch_add(1);
        }
        changed_.notify_all();
        return where;
    }
    /// Until `n` actions are written; false after `timeout`.
    bool wait_written(long n, std::chrono::milliseconds timeout) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return written.load() >= n; });
    }
    std::atomic<std::int64_t> last_ns{0};
    std::atomic<long> written{0};

  private:
    planner::ActionSink& inner_;
    std::mutex mutex_;
    std::condition_variable changed_;
};

planner::PlannerAgentOptions agent_options(bool burst) {
    planner::PlannerAgentOptions o;
    o.cooldown = std::chrono::milliseconds{0};
    o.workers = 1;
    o.queue_capacity = 1024;
    // A burst measures throughput, so intake waits for room instead of dropping.
    o.wait_when_full = burst;
    return o;
}

struct Figures {
    std::vector<double> latency_us;
    double per_second = 0.0;
};

/// parse + handle_event on this thread into memory sinks: the planner's own work.
Figures own_work(long count, planner::LogSink& log) {
    InstantRouter router;
    MemoryActionSink actions;
    MemoryEventSink events;
    // The bare agent, not PlannerService: own work is measured into memory sinks, without the
    // files, store and silences the service would add.
    planner::PlannerAgent agent(
        agent_options(false), {.router = router, .actions = actions, .events = events, .log = log});
    Figures f;
    f.latency_us.reserve(static_cast<std::size_t>(count));
    std::vector<std::string> texts;
    for (long i = 0; i < count; ++i) texts.push_back(event_text(i));
    const auto start = bench::now_ns();
    for (const auto& text : texts) {
        const auto t0 = bench::now_ns();
        const auto raw = nlohmann::json::parse(text);
        const auto event = planner::try_parse_event(raw, "health_events", 1.78e9).event.value();
        if (planner::testing::handle_event(agent, event) != planner::HandleResult::proposed) {
            throw std::runtime_error("an event was not proposed");
        }
        f.latency_us.push_back(static_cast<double>(bench::now_ns() - t0) / 1000.0);
    }
    f.per_second = static_cast<double>(count) / bench::seconds_between(start, bench::now_ns());
    return f;
}

/// The started agent on the real file sinks under `dir`, assembled as planner-run assembles it
/// (PlannerService: store, silences, sweeper); both file measurements drive it, so they differ
/// only in how they feed it and what they time.
struct FileAgent {
    FileAgent(const std::filesystem::path& dir, bool fsync, bool burst, planner::LogSink& log,
              std::shared_ptr<planner::LLMRouter> chosen = std::make_shared<InstantRouter>())
        : service(options(dir, fsync, burst, std::move(chosen), timed), log),
          agent(service.agent()),
          actions(*timed) {
        service.start();
    }
    static planner::PlannerServiceOptions options(const std::filesystem::path& dir, bool fsync,
                                                  bool burst,
                                                  std::shared_ptr<planner::LLMRouter> chain,
                                                  TimedActionSink*& timed) {
        planner::PlannerServiceOptions o;
        o.agent = agent_options(burst);
        o.actions_dir = dir / "actions";
        o.events_dir = dir / "events";
        o.state_dir = dir / "state";
        o.node = "bench";
        o.chain = std::move(chain);
        o.fsync = fsync;
        o.wrap_actions = [&timed](planner::ActionSink& files) {
            auto sink = std::make_unique<TimedActionSink>(files);
            timed = sink.get();
            return std::unique_ptr<planner::ActionSink>(std::move(sink));
        };
        return o;
    }
    TimedActionSink* timed = nullptr;  ///< set while `service` is built, owned by it
    planner::PlannerService service;
    planner::PlannerAgent& agent;
    TimedActionSink& actions;
};

/// dispatch_text → queue → worker → FileActionSink, one event at a time: latency.
Figures dispatch_to_file(const std::filesystem::path& dir, long count, bool fsync,
                         planner::LogSink& log) {
    FileAgent pipeline(dir, fsync, false, log);
    auto& agent = pipeline.agent;
    auto& actions = pipeline.actions;
    Figures f;
    const auto start = bench::now_ns();
    for (long i = 0; i < count; ++i) {
        const auto text = event_text(i);
        const auto t0 = bench::now_ns();
        if (agent.dispatch_text("health_events", text) != planner::IntakeResult::queued) {
            throw std::runtime_error("an event was not queued");
        }
        // Idle means the event file is written too, so the next event starts on a quiet worker.
        if (!agent.wait_idle(std::chrono::seconds{30})) throw std::runtime_error("stuck");
        if (actions.written.load() != i + 1) throw std::runtime_error("an action was not written");
        f.latency_us.push_back(static_cast<double>(actions.last_ns.load() - t0) / 1000.0);
    }
    f.per_second = static_cast<double>(count) / bench::seconds_between(start, bench::now_ns());
    agent.stop();
    return f;
}

/// As many events as the queue takes, as fast as possible: events per second end to end.
double burst_to_file(const std::filesystem::path& dir, long count, bool fsync,
                     planner::LogSink& log) {
    FileAgent pipeline(dir, fsync, true, log);
    auto& agent = pipeline.agent;
    auto& actions = pipeline.actions;
    std::vector<std::string> texts;
    for (long i = 0; i < count; ++i) texts.push_back(event_text(1'000'000 + i));
    const auto start = bench::now_ns();
    for (const auto& text : texts) {
        if (agent.dispatch_text("health_events", text) != planner::IntakeResult::queued) {
            throw std::runtime_error("an event was not queued");
        }
    }
    if (!agent.wait_idle(std::chrono::minutes{5})) throw std::runtime_error("stuck");
    const auto end = bench::now_ns();
    agent.stop();
    if (actions.written.load() != count) throw std::runtime_error("actions missing");
    return static_cast<double>(count) / bench::seconds_between(start, end);
}

/// PUBLISH → RedisSubscriber → dispatch_text → worker → rules provider → FileActionSink, one
/// event at a time, as planner-run --model rules wires them: latency to a durable file.
Figures publish_to_file(const std::filesystem::path& dir, long count, bool fsync,
                        planner::LogSink& log, bench::Redis& redis) {
    planner::ChainRouterOptions chain;
    chain.models = {"rules"};
    FileAgent pipeline(dir, fsync, false, log, planner::make_chain_router(chain));
    auto& agent = pipeline.agent;
    auto& actions = pipeline.actions;
    planner::RedisSubscriberOptions so;
    so.url.port = redis.port();
    so.channels = {"health_events"};
    planner::RedisSubscriber subscriber(so, [&](std::string_view channel, std::string_view data) {
        agent.dispatch_text(channel, data);
    });
    std::atomic<bool> stop{false};
    std::thread intake([&] { subscriber.run(stop); });
    struct Join {
        std::atomic<bool>& stop;
        std::thread& t;
        ~Join() {
            stop.store(true);
            t.join();
        }
    } join{stop, intake};
    bench::wait_for_subscribers(redis.control(), "health_events", 1, std::chrono::seconds{10});
    Figures f;
    const auto start = bench::now_ns();
    for (long i = 0; i < count; ++i) {
        const auto text = event_text(2'000'000 + i);
        const auto t0 = bench::now_ns();
        auto* reply = static_cast<redisReply*>(
            redisCommand(redis.control(), "PUBLISH health_events %b", text.data(), text.size()));
        const bool delivered =
            reply != nullptr && reply->type == REDIS_REPLY_INTEGER && reply->integer == 1;
        if (reply != nullptr) freeReplyObject(reply);
        if (!delivered) throw std::runtime_error("PUBLISH reached no subscriber");
        if (!actions.wait_written(i + 1, std::chrono::seconds{30})) {
            throw std::runtime_error("no action file for a published event");
        }
        // The event file too, so the next event starts on a quiet worker.
        if (!agent.wait_idle(std::chrono::seconds{30})) throw std::runtime_error("stuck");
        f.latency_us.push_back(static_cast<double>(actions.last_ns.load() - t0) / 1000.0);
    }
    f.per_second = static_cast<double>(count) / bench::seconds_between(start, bench::now_ns());
    agent.stop();
    return f;
}

/// Binds this process, and so every thread it starts later, to `cpu`.
void pin_to_cpu(long cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(static_cast<std::size_t>(cpu), &set);
    if (sched_setaffinity(0, sizeof set, &set) != 0) {
        throw std::runtime_error("cannot pin to CPU " + std::to_string(cpu));
    }
}

}  // namespace

int main(int argc, char** argv) try {
    bench::Args args(argc, argv);
    const long count = args.number("--count", 5'000);
    const long fsync_count = args.number("--fsync-count", 100);
    const std::filesystem::path dir = args.text("--dir", "bench-pipeline-dir");
    /// Only the in-memory part, for profiling the planner's own work with perf.
    const bool own_only = args.flag("--own-only");
    /// Only the end-to-end part (PUBLISH → durable action file), with `--e2e-count` events.
    const bool e2e_only = args.flag("--e2e-only");
    const long e2e_count = args.number("--e2e-count", 200);
    const long pin = args.number("--pin", -1);
    const std::string redis_binary = args.text("--redis-server", "redis-server");
    args.finish();
    if (pin >= 0) pin_to_cpu(pin);
    std::filesystem::remove_all(dir);

    // The product's log: one JSON line per proposal, formatted and written, to /dev/null.
    std::FILE* devnull = std::fopen("/dev/null", "w");
    if (devnull == nullptr) throw std::runtime_error("cannot open /dev/null");
    planner::JsonLinesLogSink log(devnull, planner::LogLevel::info);

    bench::Report report("pipeline");
    report.figure("pinned to CPU (-1: not pinned)", static_cast<double>(pin), "cpu");
    if (!e2e_only) {
        // Warm-up: lazily built schema, validator and allocator pools.
        own_work(200, log);
        auto f = own_work(count, log);
        report.figure("own work: events/s", f.per_second, "1/s");
        report.figure("own work: p50", bench::percentile(f.latency_us, 50), "us",
                      bench::Target::at_most(25));
        report.figure("own work: p99", bench::percentile(f.latency_us, 99), "us",
                      bench::Target::at_most(60));
    }
    for (const bool fsync : {false, true}) {
        if (own_only || e2e_only) break;
        const long n = fsync ? fsync_count : count;
        const std::string tag = fsync ? " (fsync)" : " (no fsync)";
        auto f = dispatch_to_file(dir / (fsync ? "one-fsync" : "one-nofsync"), n, fsync, log);
        report.figure("dispatch->file p50" + tag, bench::percentile(f.latency_us, 50), "us");
        report.figure("dispatch->file p99" + tag, bench::percentile(f.latency_us, 99), "us");
        report.figure("one at a time: events/s" + tag, f.per_second, "1/s");
        report.figure("burst: events/s" + tag,
                      burst_to_file(dir / (fsync ? "burst-fsync" : "burst-nofsync"), n, fsync, log),
                      "1/s");
        auto loop = bench::fsync_loop(dir / (fsync ? "loop-fsync" : "loop-nofsync"), n, 600, fsync);
        report.figure("plain write loop p50" + tag, bench::percentile(loop.latency_us, 50), "us");
        report.figure("plain write loop p99" + tag, bench::percentile(loop.latency_us, 99), "us");
        report.figure("plain write loop files/s" + tag, static_cast<double>(n) / loop.seconds,
                      "1/s");
    }
    if (!own_only) {
        bench::Redis redis(redis_binary);
        for (const bool fsync : {false, true}) {
            const std::string tag = fsync ? " (fsync)" : " (no fsync)";
            const auto sub = dir / (fsync ? "e2e-fsync" : "e2e-nofsync");
            auto f = publish_to_file(sub, e2e_count, fsync, log, redis);
            report.figure("PUBLISH->durable file, rules p50" + tag,
                          bench::percentile(f.latency_us, 50), "us");
            report.figure("PUBLISH->durable file, rules p99" + tag,
                          bench::percentile(f.latency_us, 99), "us");
            auto loop = bench::fsync_loop(sub / "actions", e2e_count, 600, fsync);
            report.figure("plain write loop, same dir, p50" + tag,
                          bench::percentile(loop.latency_us, 50), "us");
            report.figure("plain write loop, same dir, p99" + tag,
                          bench::percentile(loop.latency_us, 99), "us");
        }
        report.figure("events end to end (each)", static_cast<double>(e2e_count), "events");
    }
    report.figure("events (no fsync)", static_cast<double>(count), "events");
    report.figure("events (fsync)", static_cast<double>(fsync_count), "events");
    std::filesystem::remove_all(dir);
    std::fclose(devnull);
    report.print_table();
    return report.exit_code();
} catch (const std::exception& e) {
    std::fprintf(stderr, "bench_pipeline: %s\n", e.what());
    return 2;
}
