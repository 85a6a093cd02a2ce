/// Intake in-process: PlannerAgent::dispatch_text over messages that are all benign or all in
/// cooldown, the two kinds a busy bus is made of. No Redis and no sockets, so the figure is the
/// planner's own intake cost and runs unchanged under `valgrind --tool=callgrind` for a
/// load-independent instruction count (docs/performance.md).

#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include <planner/agent_testing.hpp>
#include <planner/planner.hpp>

#include "bench_common.hpp"

namespace {

class NoActions final : public planner::ActionSink {
  public:
    std::string write(const planner::ActionProposal&) override { return "none"; }
};

class NoEvents final : public planner::EventSink {
  public:
    std::string emit(const planner::PlannerEvent&) override { return "none"; }
};

class InstantRestart final : public planner::LLMRouter {
  public:
    using LLMRouter::route;
    planner::RouteResult route(const planner::RouteRequest& request) override {
        planner::RouteResult r;
        r.content = {{"action", "restart"},         {"service", request.event->service},
                     {"node", request.event->node}, {"reason", "bench"},
                     {"confidence", 0.9},           {"requires_human", false}};
        r.model_used = "bench/instant";
        return r;
    }
};

std::string message(bool benign, long i) {
    return std::string(R"({"type":")") + (benign ? "heartbeat" : "service_unhealthy") +
           R"(","node":"n)" + std::to_string(i % 20) +
           R"(","service":"svc","severity":"error","payload":{"cpu":12.5,"mem":40}})";
}

}  // namespace

int main(int argc, char** argv) try {
    bench::Args args(argc, argv);
    const long count = args.number("--count", 200'000);
    const std::string mode = args.text("--mode", "cooldown");
    args.finish();
    if (mode != "benign" && mode != "cooldown") throw std::runtime_error("--mode benign|cooldown");
    const bool benign = mode == "benign";

    std::FILE* devnull = std::fopen("/dev/null", "w");
    if (devnull == nullptr) throw std::runtime_error("cannot open /dev/null");
    planner::JsonLinesLogSink log(devnull, planner::LogLevel::info);
    InstantRestart router;
    NoActions actions;
    NoEvents events;
    // The bare agent, not PlannerService: intake is measured in isolation, without files.
    planner::PlannerAgent agent(
        {}, {.router = router, .actions = actions, .events = events, .log = log});
    // Put the 20 services in cooldown, so every cooldown-mode message is decided at intake.
    for (long i = 0; i < 20; ++i) {
        planner::HealthEvent e;
        e.node = "n" + std::to_string(i);
        e.service = "svc";
        e.event_type = "service_unhealthy";
        planner::testing::handle_event(agent, e);
    }
    std::vector<std::string> messages;
    messages.reserve(static_cast<std::size_t>(count));
    for (long i = 0; i < count; ++i) messages.push_back(message(benign, i));

    const auto start = bench::now_ns();
    for (const auto& m : messages) agent.dispatch_text("health_events", m);
    const auto end = bench::now_ns();
    const auto c = agent.counters();
    if ((benign ? c.benign : c.cooldown) != static_cast<std::uint64_t>(count)) {
        throw std::runtime_error("a message was not decided at intake");
    }
    std::fclose(devnull);

    bench::Report report("dispatch");
    report.figure(mode + ": messages/s",
                  static_cast<double>(count) / bench::seconds_between(start, end), "1/s");
    report.figure(mode + ": ns per message",
                  static_cast<double>(end - start) / static_cast<double>(count), "ns");
    report.print_table();
    return report.exit_code();
} catch (const std::exception& e) {
    std::fprintf(stderr, "bench_dispatch: %s\n", e.what());
    return 2;
}
