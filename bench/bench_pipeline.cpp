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

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include <planner/agent.hpp>
#include <planner/file_sinks.hpp>
#include <planner/log.hpp>
#include <planner/planner.hpp>

#include "bench_common.hpp"
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

/// Serialises like the file sinks and keeps only the size: the JSON work without the disk.
class MemoryActionSink final : public planner::ActionSink {
  public:
    std::string write(const planner::ActionProposal& p) override {
        bytes += p.to_action_file().dump(2).size();
        return p.action_id;
    }
    std::size_t bytes = 0;
};

class MemoryEventSink final : public planner::EventSink {
  public:
    std::string emit(const planner::PlannerEvent& e) override {
        const nlohmann::json j = {{"type", e.type},
                                  {"severity", e.severity},
                                  {"node", "bench"},
                                  {"service", e.service},
                                  {"correlation_id", e.correlation_id},
                                  {"payload", e.payload},
                                  {"timestamp", "2026-01-01T00:00:00Z"}};
        bytes += j.dump(2).size();
        return e.correlation_id;
    }
    std::size_t bytes = 0;
};

/// Stamps the moment the inner sink's write returned, i.e. the action file is durable.
class TimedActionSink final : public planner::ActionSink {
  public:
    explicit TimedActionSink(planner::ActionSink& inner) : inner_(inner) {}
    std::string write(const planner::ActionProposal& p) override {
        auto where = inner_.write(p);
        last_ns.store(bench::now_ns());
        written.fetch_add(1);
        return where;
    }
    std::atomic<std::int64_t> last_ns{0};
    std::atomic<long> written{0};

  private:
    planner::ActionSink& inner_;
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
    planner::PlannerAgent agent(agent_options(false), router, actions, events, log);
    Figures f;
    f.latency_us.reserve(static_cast<std::size_t>(count));
    std::vector<std::string> texts;
    for (long i = 0; i < count; ++i) texts.push_back(event_text(i));
    const auto start = bench::now_ns();
    for (const auto& text : texts) {
        const auto t0 = bench::now_ns();
        const auto raw = nlohmann::json::parse(text);
        const auto event = planner::try_parse_event(raw, "health_events", 1.78e9).event.value();
        if (agent.handle_event(event) != planner::HandleResult::proposed) {
            throw std::runtime_error("an event was not proposed");
        }
        f.latency_us.push_back(static_cast<double>(bench::now_ns() - t0) / 1000.0);
    }
    f.per_second = static_cast<double>(count) / bench::seconds_between(start, bench::now_ns());
    return f;
}

/// The started agent on the real file sinks under `dir`; both file measurements drive it, so
/// they differ only in how they feed it and what they time.
struct FileAgent {
    FileAgent(const std::filesystem::path& dir, bool fsync, bool burst, planner::LogSink& log)
        : files(dir / "actions", {fsync}),
          actions(files),
          events(dir / "events", [] { return std::string("bench"); },
                 std::chrono::system_clock::now, {fsync}),
          agent(agent_options(burst), router, actions, events, log) {
        agent.start();
    }
    InstantRouter router;
    planner::FileActionSink files;
    TimedActionSink actions;
    planner::FileEventSink events;
    planner::PlannerAgent agent;
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

}  // namespace

int main(int argc, char** argv) try {
    bench::Args args(argc, argv);
    const long count = args.number("--count", 5'000);
    const long fsync_count = args.number("--fsync-count", 100);
    const std::filesystem::path dir = args.text("--dir", "bench-pipeline-dir");
    /// Only the in-memory part, for profiling the planner's own work with perf.
    const bool own_only = args.flag("--own-only");
    args.finish();
    std::filesystem::remove_all(dir);

    // The product's log: one JSON line per proposal, formatted and written, to /dev/null.
    std::FILE* devnull = std::fopen("/dev/null", "w");
    if (devnull == nullptr) throw std::runtime_error("cannot open /dev/null");
    planner::JsonLinesLogSink log(devnull, planner::LogLevel::info);

    bench::Report report("pipeline");
    {
        // Warm-up: lazily built schema, validator and allocator pools.
        own_work(200, log);
        auto f = own_work(count, log);
        report.figure("own work: events/s", f.per_second, "1/s");
        report.figure("own work: p50", bench::percentile(f.latency_us, 50), "us");
        report.figure("own work: p99", bench::percentile(f.latency_us, 99), "us",
                      bench::Target::at_most(50));
    }
    for (const bool fsync : {false, true}) {
        if (own_only) break;
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
