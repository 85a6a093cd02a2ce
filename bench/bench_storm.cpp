/// Figures 3 and 4: an event storm into the real planner-run, and its memory footprint.
///
/// planner-run talks to a loopback fake Ollama (cpp-httplib, in this process) that takes
/// `--router-ms` per answer, through the real chain router and its HTTP client, so the storm
/// measures the product as deployed, model latency included. Each storm publishes 10 000
/// events over 50 services of one node within one second; a storm's services have their own
/// names, so each of the three storms must cost exactly 50 model calls.
///
/// Footprint: VmRSS/VmHWM of planner-run idle for `--idle-s` after it subscribed, and after
/// each storm; exec-to-subscribed (fork to Redis listing the subscription) over several
/// starts; the stripped size of the binary.

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "bench_common.hpp"
#include "bench_process.hpp"
#include "fake_ollama.hpp"

namespace fs = std::filesystem;

namespace {

using bench::FakeOllama;

/// Action files whose name starts with `prefix`.
long count_files(const fs::path& dir, const std::string& prefix) {
    long n = 0;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (entry.path().filename().string().starts_with(prefix)) ++n;
    }
    return n;
}

double mib(long pid, const char* field) {
    return bench::proc_status_kib(pid, field).value_or(0) / 1024.0;
}

}  // namespace

int main(int argc, char** argv) try {
    bench::Args args(argc, argv);
    const long events = args.number("--events", 10'000);
    const long services = args.number("--services", 50);
    const long storms = args.number("--storms", 3);
    const long spread_ms = args.number("--spread-ms", 1'000);
    const long router_ms = args.number("--router-ms", 200);
    const long idle_s = args.number("--idle-s", 10);
    const long starts = args.number("--starts", 5);
    const fs::path dir = args.text("--dir", "bench-storm-dir");
    const std::string planner_run = args.text("--planner-run", PLANNER_RUN_PATH);
    const std::string redis_binary = args.text("--redis-server", "redis-server");
    args.finish();
    fs::remove_all(dir);
    fs::create_directories(dir);
    const auto helpers = bench::self_dir();
    bench::Report report("storm");

    bench::Redis redis(redis_binary);
    FakeOllama ollama{std::chrono::milliseconds{router_ms}};
    const std::string model = "ollama/bench@http://127.0.0.1:" + std::to_string(ollama.port());

    // --- exec to subscribed, over several starts (the first pays for a cold page cache) ----
    std::vector<double> startup_ms;
    for (long i = 0; i < starts; ++i) {
        bench::Child p({planner_run, "--redis", redis.url(), "--actions-dir",
                        (dir / "start-actions").string(), "--events-dir",
                        (dir / "start-events").string(), "--model", "rules", "--node", "bench"},
                       "/dev/null", "/dev/null");
        const auto subscribed = bench::wait_for_subscribers(redis.control(), "health_events", 1,
                                                            std::chrono::seconds{10});
        startup_ms.push_back(static_cast<double>(subscribed - p.started_ns()) / 1e6);
        p.stop();
        while (bench::redis_subscribers(redis.control(), "health_events") != 0) {
            std::this_thread::sleep_for(std::chrono::milliseconds{1});
        }
    }
    report.figure("exec->subscribed median", bench::percentile(startup_ms, 50), "ms",
                  bench::Target::at_most(50));
    report.figure("exec->subscribed max", bench::percentile(startup_ms, 100), "ms");

    // --- the long-running planner: idle, then storms ----------------------------------------
    const fs::path actions = dir / "actions";
    bench::Child planner({planner_run,
                          "--redis",
                          redis.url(),
                          "--actions-dir",
                          actions.string(),
                          "--events-dir",
                          (dir / "events").string(),
                          "--model",
                          model,
                          "--node",
                          "bench",
                          "--workers",
                          "1",
                          "--cooldown",
                          "300",
                          "--llm-timeout",
                          "10",
                          "--log-format",
                          "json",
                          "--log-level",
                          "info"},
                         (dir / "planner.out").string(), (dir / "planner.err").string());
    bench::wait_for_subscribers(redis.control(), "health_events", 1, std::chrono::seconds{10});
    std::this_thread::sleep_for(std::chrono::seconds{idle_s});
    const double idle_rss = mib(planner.pid(), "VmRSS");
    // No target: issue 23 withdrew the idle-RSS one (bench_memory measures after model calls).
    report.figure("idle RSS (" + std::to_string(idle_s) + " s after start)", idle_rss, "MiB");
    report.figure("idle RSS anonymous", mib(planner.pid(), "RssAnon"), "MiB");
    report.figure("idle RSS file-backed (shared libraries)", mib(planner.pid(), "RssFile"), "MiB");
    // PSS charges each shared page to its sharers: the memory this process really adds.
    report.figure("idle PSS",
                  bench::proc_status_kib(planner.pid(), "Pss", "smaps_rollup").value_or(0) / 1024.0,
                  "MiB");
    report.figure("idle peak RSS (VmHWM)", mib(planner.pid(), "VmHWM"), "MiB");

    std::vector<double> rss_after;
    for (long s = 1; s <= storms; ++s) {
        const std::string prefix = "s" + std::to_string(s) + "-";
        const std::string tag = " (storm " + std::to_string(s) + ")";
        bench::Child publisher(
            {(helpers / "bench_publish").string(), "--port", std::to_string(redis.port()),
             "--count", std::to_string(events), "--mode", "storm", "--services",
             std::to_string(services), "--service-prefix", prefix, "--batch", "100", "--spread-ms",
             std::to_string(spread_ms)},
            (dir / "publish.out").string());
        if (publisher.wait(std::chrono::minutes{2}) != 0) {
            throw std::runtime_error("publisher failed");
        }
        const auto published = bench::last_json_line(bench::read_text(dir / "publish.out"));
        const std::int64_t start_ns = published.at("start_ns");
        const std::int64_t end_ns = published.at("end_ns");

        // Drained when every service has its action file; with one worker and 200 ms per
        // call that is about services x router-ms after the first event.
        const auto deadline = std::chrono::steady_clock::now() +
                              std::chrono::milliseconds{services * router_ms * 3 + 30'000};
        const std::string file_prefix = "plan-piha-" + prefix;
        while (count_files(actions, file_prefix) < services) {
            if (std::chrono::steady_clock::now() > deadline || !planner.running()) {
                throw std::runtime_error("storm " + std::to_string(s) + " did not drain");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds{5});
        }
        const auto drained_ns = bench::now_ns();
        // Give a stray extra route time to show before counting.
        std::this_thread::sleep_for(std::chrono::milliseconds{router_ms * 2});

        report.figure("publish window" + tag, static_cast<double>(end_ns - start_ns) / 1e6, "ms");
        report.figure("first event -> last action file" + tag,
                      static_cast<double>(drained_ns - start_ns) / 1e6, "ms");
        report.figure("model calls" + tag, static_cast<double>(ollama.requests(prefix)), "calls");
        report.figure("action files" + tag, static_cast<double>(count_files(actions, file_prefix)),
                      "files");
        rss_after.push_back(mib(planner.pid(), "VmRSS"));
        report.figure("RSS after" + tag, rss_after.back(), "MiB");
        report.figure("peak RSS (VmHWM) after" + tag, mib(planner.pid(), "VmHWM"), "MiB");
        report.check(
            "exactly " + std::to_string(services) + " model calls" + tag,
            ollama.requests(prefix) == services && count_files(actions, file_prefix) == services);
        report.check("Redis delivered every event" + tag,
                     published.at("receivers").get<long>() == events);
    }
    if (storms > 1) {
        report.figure("RSS growth storm 1 -> " + std::to_string(storms),
                      (rss_after.back() - rss_after.front()) * 1024.0, "KiB",
                      bench::Target::at_most(256));
    }
    report.figure("max concurrent model calls", ollama.max_concurrent(), "calls");
    if (ollama.calls() > 0) {
        const auto per_call = [&](long bytes) {
            return static_cast<double>(bytes) / static_cast<double>(ollama.calls());
        };
        report.figure("request body per model call (default topology)",
                      per_call(ollama.request_bytes()), "bytes");
        report.figure("answer body per model call", per_call(ollama.answer_bytes()), "bytes");
        report.check("every model call sends keep_alive",
                     ollama.calls_with_keep_alive() == ollama.calls());
    }

    if (planner.stop(std::chrono::seconds{30}) != 0) {
        throw std::runtime_error("planner-run did not stop cleanly");
    }
    const auto summary = bench::last_json_line(bench::read_text(dir / "planner.err"));
    if (summary.value("event", "") != "planner_stopped") {
        throw std::runtime_error("planner-run printed no exit summary");
    }
    const auto& skipped = summary.at("skipped");
    const long received = summary.at("received_total");
    const long routed = summary.at("routed");
    const long suppressed =
        skipped.at("coalesced").get<long>() + skipped.at("cooldown").get<long>();
    report.figure("received (all storms)", static_cast<double>(received), "events");
    report.figure("routed (all storms)", static_cast<double>(routed), "calls");
    report.figure("coalesced (all storms)", skipped.at("coalesced").get<double>(), "events");
    report.figure("cooldown (all storms)", skipped.at("cooldown").get<double>(), "events");
    report.figure("queue_full drops (all storms)", skipped.at("queue_full").get<double>(), "events",
                  bench::Target::at_most(0));
    // Coalescing allows one queued event per service, so the queue never holds more than the
    // storm's services; the agent exposes no depth gauge, so this is the bound it guarantees.
    report.figure("queue depth bound (services per storm)", static_cast<double>(services),
                  "events");
    report.check("zero lost: received == published", received == events * storms);
    report.check("every event routed or suppressed",
                 routed + suppressed == received && skipped.at("malformed").get<long>() == 0 &&
                     skipped.at("queue_full").get<long>() == 0 &&
                     summary.at("abandoned").get<long>() == 0);
    report.check("routes == services x storms", routed == services * storms);

    // --- stripped binary size ------------------------------------------------------------------
    const fs::path stripped = dir / "planner-run.stripped";
    bench::Child strip({"strip", "-o", stripped.string(), planner_run});
    if (strip.wait(std::chrono::seconds{30}) == 0) {
        report.figure("planner-run stripped size",
                      static_cast<double>(fs::file_size(stripped)) / 1024.0, "KiB");
    }
    report.figure("planner-run unstripped size",
                  static_cast<double>(fs::file_size(planner_run)) / 1024.0, "KiB");

    fs::remove_all(dir);
    report.print_table();
    return report.exit_code();
} catch (const std::exception& e) {
    std::fprintf(stderr, "bench_storm: %s\n", e.what());
    return 2;
}
