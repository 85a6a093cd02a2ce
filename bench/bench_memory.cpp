/// Memory of the real planner-run as issue 23 judges it: PSS and private dirty memory after
/// model calls, not idle RSS.
///
/// planner-run runs against a private redis-server and a loopback fake Ollama (cpp-httplib, in
/// this process) with the default chain's shape (one HTTP model, then the rules). Each event
/// names its own service, so none is coalesced or cooling down and every one costs exactly one
/// model call and one action file. /proc/<pid>/smaps_rollup is read idle (`--idle-s` after it
/// subscribed), after the first call and after `--calls` calls (each reading once the action
/// file is written).
///
/// `--baseline PATH` measures a second planner-run the same way, just before the first, so two
/// builds are compared on the same machine in the same minute. `--http-listen` also starts the
/// listener and checks that /healthz answers.

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include "bench_common.hpp"
#include "bench_process.hpp"
#include "fake_ollama.hpp"

namespace fs = std::filesystem;

namespace {

using bench::FakeOllama;

long count_files(const fs::path& dir) {
    long n = 0;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (entry.path().filename().string().starts_with("plan-")) ++n;
    }
    return n;
}

/// The three figures of one reading, MiB.
struct Reading {
    double rss = 0, pss = 0, private_dirty = 0;
};

Reading read_memory(long pid) {
    const auto kib = [pid](const char* field) {
        const auto v = bench::proc_status_kib(pid, field, "smaps_rollup");
        if (!v) throw std::runtime_error(std::string("no ") + field + " in smaps_rollup");
        return *v / 1024.0;
    };
    return {kib("Rss"), kib("Pss"), kib("Private_Dirty")};
}

struct Options {
    long calls = 1000;
    long idle_s = 2;
    bool http_listen = false;
    fs::path dir;
};

/// One planner-run: its readings idle, after 1 call and after `calls` calls, as figures named
/// after `label`.
void measure(const std::string& label, const std::string& planner_run, const Options& o,
             bench::Redis& redis, bench::Report& report) {
    FakeOllama ollama{std::chrono::milliseconds{0}};
    const fs::path dir = o.dir / label;
    fs::remove_all(dir);
    fs::create_directories(dir);
    const fs::path actions = dir / "actions";
    std::vector<std::string> argv{planner_run,
                                  "--redis",
                                  redis.url(),
                                  "--actions-dir",
                                  actions.string(),
                                  "--events-dir",
                                  (dir / "events").string(),
                                  "--model",
                                  "ollama/bench@http://127.0.0.1:" + std::to_string(ollama.port()),
                                  "--model",
                                  "rules",
                                  "--node",
                                  "bench",
                                  "--workers",
                                  "1",
                                  "--llm-timeout",
                                  "10",
                                  "--log-format",
                                  "json",
                                  "--log-level",
                                  "info"};
    int http_port = 0;
    if (o.http_listen) {
        http_port = planner::testing::free_loopback_port();
        argv.insert(argv.end(), {"--http-listen", "127.0.0.1:" + std::to_string(http_port)});
    }
    bench::Child planner(argv, (dir / "planner.out").string(), (dir / "planner.err").string());
    bench::wait_for_subscribers(redis.control(), "health_events", 1, std::chrono::seconds{10});
    if (o.http_listen) {
        httplib::Client client("127.0.0.1", http_port);
        const auto r = client.Get("/healthz");
        report.check(label + ": /healthz answers 200", r && r->status == 200);
    }
    std::this_thread::sleep_for(std::chrono::seconds{o.idle_s});

    std::vector<std::pair<std::string, Reading>> readings;
    readings.emplace_back("idle", read_memory(planner.pid()));
    // One event at a time, each for its own service: the next is published once the previous
    // one's action file is written, so the queue never overflows and nothing is coalesced.
    for (long i = 1; i <= o.calls; ++i) {
        const std::string event = R"({"type":"service_unhealthy","node":"piha","service":"m)" +
                                  std::to_string(i) + R"(","severity":"error"})";
        if (redis.publish("health_events", event) != 1) {
            throw std::runtime_error(label + ": event " + std::to_string(i) + " not delivered");
        }
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{30};
        while (count_files(actions) < i) {
            if (std::chrono::steady_clock::now() > deadline || !planner.running()) {
                throw std::runtime_error(label + ": no action file for event " + std::to_string(i));
            }
            std::this_thread::sleep_for(std::chrono::microseconds{200});
        }
        if (i == 1) readings.emplace_back("after 1 call", read_memory(planner.pid()));
    }
    if (o.calls > 1) {
        readings.emplace_back("after " + std::to_string(o.calls) + " calls",
                              read_memory(planner.pid()));
    }
    std::fprintf(stderr, "\n%s (%s)\n%-20s %10s %14s %10s\n", label.c_str(), planner_run.c_str(),
                 "MiB", "Pss", "Private_Dirty", "Rss");
    for (const auto& [when, r] : readings) {
        report.figure(label + ": Pss " + when, r.pss, "MiB");
        report.figure(label + ": Private_Dirty " + when, r.private_dirty, "MiB");
        report.figure(label + ": Rss " + when, r.rss, "MiB");
        std::fprintf(stderr, "%-20s %10.2f %14.2f %10.2f\n", when.c_str(), r.pss, r.private_dirty,
                     r.rss);
    }
    report.check(label + ": one model call per event", ollama.calls() == o.calls,
                 std::to_string(ollama.calls()) + " calls");
    const auto summary = bench::stop_planner(planner, dir / "planner.err");
    report.check(label + ": every event routed",
                 summary.at("routed").get<long>() == o.calls &&
                     summary.at("received_total").get<long>() == o.calls);
    fs::remove_all(dir);
}

}  // namespace

int main(int argc, char** argv) try {
    bench::Args args(argc, argv);
    Options o;
    o.calls = args.number("--calls", 1000);
    o.idle_s = args.number("--idle-s", 2);
    o.http_listen = args.flag("--http-listen");
    o.dir = args.text("--dir", "bench-memory-dir");
    const std::string planner_run = args.text("--planner-run", PLANNER_RUN_PATH);
    const std::string baseline = args.text("--baseline", "");
    const std::string redis_binary = args.text("--redis-server", "redis-server");
    args.finish();
    if (o.calls < 1) throw std::invalid_argument("--calls must be at least 1");
    fs::create_directories(o.dir);
    bench::Report report("memory");
    bench::Redis redis(redis_binary);
    if (!baseline.empty()) measure("baseline", baseline, o, redis, report);
    measure(baseline.empty() ? "planner-run" : "candidate", planner_run, o, redis, report);
    fs::remove_all(o.dir);
    report.print_table();
    return report.exit_code();
} catch (const std::exception& e) {
    std::fprintf(stderr, "bench_memory: %s\n", e.what());
    return 2;
}
