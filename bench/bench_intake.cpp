/// Figure 1: can planner-run drain Redis as fast as Redis delivers?
///
/// One private redis-server; two subscribers attached at once: planner-run and bench_count_sub
/// (hiredis, counts and nothing else: the physical limit). A separate process publishes N
/// suppressed events, pipelined, then one actionable sentinel. Both rates are measured from
/// the same publish start: the baseline's ends at its last message, planner-run's when the
/// sentinel's action file appears (Redis delivers in order, so everything before it was
/// handled). That end includes the rules provider and one fsynced file write, a few ms that
/// count against the planner, never for it. Counts come from both subscribers and from Redis
/// (the receivers PUBLISH reported), so a lost event shows.

#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include "bench_common.hpp"
#include "bench_process.hpp"

namespace fs = std::filesystem;

namespace {

/// Polls `dir` until a file whose name starts with `prefix` exists; returns when it was seen.
std::int64_t wait_for_file(const fs::path& dir, const std::string& prefix,
                           std::chrono::milliseconds timeout, bench::Child& planner) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        std::error_code ec;
        for (const auto& entry : fs::directory_iterator(dir, ec)) {
            if (entry.path().filename().string().starts_with(prefix)) return bench::now_ns();
        }
        if (std::chrono::steady_clock::now() >= until) {
            throw std::runtime_error("no action file " + prefix + "* in " + dir.string());
        }
        if (!planner.running()) throw std::runtime_error("planner-run exited early");
        std::this_thread::sleep_for(std::chrono::microseconds{500});
    }
}

}  // namespace

int main(int argc, char** argv) try {
    bench::Args args(argc, argv);
    const long count = args.number("--count", 500'000);
    const std::string mode = args.text("--mode", "benign");
    const fs::path dir = args.text("--dir", "bench-intake-dir");
    const std::string planner_run = args.text("--planner-run", PLANNER_RUN_PATH);
    const std::string redis_binary = args.text("--redis-server", "redis-server");
    args.finish();
    if (mode != "benign" && mode != "cooldown") {
        throw std::invalid_argument("--mode must be benign or cooldown");
    }
    fs::remove_all(dir);
    fs::create_directories(dir);
    const auto helpers = bench::self_dir();
    const long total = count + 1;  // the sentinel

    bench::Redis redis(redis_binary);
    const std::string port = std::to_string(redis.port());

    bench::Child baseline({(helpers / "bench_count_sub").string(), "--port", port, "--expect",
                           std::to_string(total), "--idle-ms", "30000"},
                          (dir / "baseline.out").string());
    bench::wait_for_subscribers(redis.control(), "health_events", 1, std::chrono::seconds{10});

    bench::Child planner(
        {planner_run, "--redis", redis.url(), "--actions-dir", (dir / "actions").string(),
         "--events-dir", (dir / "events").string(), "--model", "rules", "--node", "bench",
         "--cooldown", "300", "--log-format", "json", "--log-level", "info"},
        (dir / "planner.out").string(), (dir / "planner.err").string());
    bench::wait_for_subscribers(redis.control(), "health_events", 2, std::chrono::seconds{10});
    bench::wait_for_subscribers(redis.control(), "world_updates", 2, std::chrono::seconds{10});

    bench::Child publisher({(helpers / "bench_publish").string(), "--port", port, "--count",
                            std::to_string(count), "--mode", mode, "--sentinel", "bench/sentinel"},
                           (dir / "publish.out").string());
    if (publisher.wait(std::chrono::minutes{5}) != 0) throw std::runtime_error("publisher failed");
    const auto published = bench::last_json_line(bench::read_text(dir / "publish.out"));
    const std::int64_t start_ns = published.at("start_ns");

    const auto planner_end_ns =
        wait_for_file(dir / "actions", "plan-bench-sentinel-", std::chrono::minutes{5}, planner);
    if (baseline.wait(std::chrono::minutes{2}) != 0) throw std::runtime_error("baseline failed");
    const auto base = bench::last_json_line(bench::read_text(dir / "baseline.out"));
    const std::int64_t base_end_ns = base.at("last_ns");
    const long base_count = base.at("count");

    const double rss_peak_kib = bench::proc_status_kib(planner.pid(), "VmHWM").value_or(0);
    const auto summary = bench::stop_planner(planner, dir / "planner.err");
    const long received = summary.at("received_total");
    const auto& skipped = summary.at("skipped");
    const long suppressed =
        mode == "benign" ? skipped.at("benign").get<long>()
                         : skipped.at("cooldown").get<long>() + skipped.at("coalesced").get<long>();

    const double base_rate =
        static_cast<double>(total) / bench::seconds_between(start_ns, base_end_ns);
    const double planner_rate =
        static_cast<double>(total) / bench::seconds_between(start_ns, planner_end_ns);
    bench::Report report("intake_" + mode);
    report.figure("events published", static_cast<double>(total), "events");
    report.figure("publish rate", published.at("rate_per_s").get<double>(), "1/s");
    report.figure("baseline (count-only hiredis) drain rate", base_rate, "1/s");
    report.figure("planner-run drain rate", planner_rate, "1/s");
    report.figure("planner-run / baseline", 100.0 * planner_rate / base_rate, "%",
                  bench::Target::at_least(90));
    report.figure("baseline received", static_cast<double>(base_count), "events");
    report.figure("planner-run received", static_cast<double>(received), "events");
    report.figure("planner-run suppressed", static_cast<double>(suppressed), "events");
    report.figure("planner-run routed", summary.at("routed").get<double>(), "calls");
    report.figure("planner-run peak RSS", rss_peak_kib / 1024.0, "MiB");
    report.check("Redis delivered every event to both subscribers",
                 published.at("receivers").get<long>() == 2 * total);
    report.check("baseline lost nothing", base_count == total);
    report.check("planner-run lost nothing", received == total);
    // benign: the sentinel is the only route; cooldown: the first event and the sentinel.
    report.check("planner-run suppressed all but the sentinel",
                 suppressed == (mode == "benign" ? count : count - 1) &&
                     skipped.at("malformed").get<long>() == 0);
    fs::remove_all(dir);
    report.print_table();
    return report.exit_code();
} catch (const std::exception& e) {
    std::fprintf(stderr, "bench_intake: %s\n", e.what());
    return 2;
}
