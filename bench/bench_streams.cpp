/// Can planner-run --intake streams drain a stream as fast as a bare consumer can?
///
/// One private redis-server, two streams filled alike with N heartbeats (benign: the planner's
/// own cost per entry, not the model's) and one actionable sentinel. The baseline, in this
/// process, is the physical limit: hiredis XREADGROUP COUNT 256 + XACK and nothing else, on
/// `baseline_events`. Then planner-run reads `health_events` as group `planner`, and is done
/// when the sentinel's action file exists and nothing is pending: the rules provider and one
/// fsynced write count against it, its start-up does not (it is frozen while the stream fills).

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.hpp"
#include "bench_process.hpp"

namespace fs = std::filesystem;

namespace {

struct ReplyFree {
    void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

Reply command(redisContext* c, const char* format, const std::string& a = {}) {
    Reply r(static_cast<redisReply*>(redisCommand(c, format, a.data(), a.size())));
    if (!r || r->type == REDIS_REPLY_ERROR) {
        throw std::runtime_error(std::string("redis: ") + format + " failed");
    }
    return r;
}

std::string heartbeat(long i) {
    return R"({"node":"piha","service":"node-agent","type":"heartbeat","severity":"info",)"
           R"("timestamp":1780000000,"payload":{"seq":)" +
           std::to_string(i) + "}}";
}

/// N heartbeats and the sentinel into `stream`, pipelined; `group`, unless empty, is created
/// first at 0.
void fill(redisContext* c, const std::string& stream, const std::string& group, long n) {
    if (!group.empty()) {
        command(c, ("XGROUP CREATE " + stream + " " + group + " 0 MKSTREAM").c_str());
    }
    const std::string sentinel =
        R"({"node":"bench","service":"sentinel","type":"service_unhealthy","severity":"error"})";
    for (long i = 0; i <= n; ++i) {
        const std::string data = i < n ? heartbeat(i) : sentinel;
        redisAppendCommand(c, "XADD %s * data %b", stream.c_str(), data.data(), data.size());
    }
    for (long i = 0; i <= n; ++i) {
        void* raw = nullptr;
        if (redisGetReply(c, &raw) != REDIS_OK) throw std::runtime_error("redis: XADD failed");
        freeReplyObject(raw);
    }
}

/// XREADGROUP + XACK until `total` entries were read; returns how many.
long drain_baseline(redisContext* c, long total) {
    long count = 0;
    while (count < total) {
        Reply r(static_cast<redisReply*>(redisCommand(
            c, "XREADGROUP GROUP baseline counter COUNT 256 STREAMS baseline_events >")));
        if (!r || r->type != REDIS_REPLY_ARRAY) throw std::runtime_error("baseline: no entries");
        const redisReply* entries = r->element[0]->element[1];
        std::vector<std::string> args{"XACK", "baseline_events", "baseline"};
        for (std::size_t i = 0; i < entries->elements; ++i) {
            const redisReply* id = entries->element[i]->element[0];
            args.emplace_back(id->str, id->len);
        }
        std::vector<const char*> argv;
        std::vector<std::size_t> lens;
        for (const auto& a : args) {
            argv.push_back(a.data());
            lens.push_back(a.size());
        }
        Reply ack(static_cast<redisReply*>(
            redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data())));
        if (!ack) throw std::runtime_error("baseline: XACK failed");
        count += static_cast<long>(entries->elements);
    }
    return count;
}

long long pending(redisContext* c) {
    Reply r = command(c, "XPENDING health_events planner");
    return r->element[0]->integer;
}

bool sentinel_written(const fs::path& dir) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        if (e.path().filename().string().starts_with("plan-bench-sentinel-")) return true;
    }
    return false;
}

}  // namespace

int main(int argc, char** argv) try {
    bench::Args args(argc, argv);
    const long count = args.number("--count", 200'000);
    const fs::path dir = args.text("--dir", "bench-streams-dir");
    const std::string planner_run = args.text("--planner-run", PLANNER_RUN_PATH);
    const std::string redis_binary = args.text("--redis-server", "redis-server");
    args.finish();
    fs::remove_all(dir);
    fs::create_directories(dir / "actions");
    const long total = count + 1;

    bench::Redis redis(redis_binary);
    redisContext* c = redis.control();
    fill(c, "baseline_events", "baseline", count);

    const auto base_start = bench::now_ns();
    const long base_count = drain_baseline(c, total);
    const auto base_end = bench::now_ns();

    // planner-run joins its group on an empty stream, is frozen while the stream fills, and is
    // timed from the moment it is thawed: both drain the same pre-filled stream.
    command(c, "XGROUP CREATE health_events planner $ MKSTREAM");
    bench::Child planner(
        {planner_run, "--intake", "streams", "--redis", redis.url(), "--channel", "health_events",
         "--actions-dir", (dir / "actions").string(), "--events-dir", (dir / "events").string(),
         "--model", "rules", "--node", "bench", "--log-format", "json", "--log-level", "info"},
        (dir / "planner.out").string(), (dir / "planner.err").string());
    const auto until = std::chrono::steady_clock::now() + std::chrono::minutes{5};
    while (bench::read_text(dir / "planner.err").find("\"subscribed\"") == std::string::npos) {
        if (std::chrono::steady_clock::now() > until) throw std::runtime_error("planner timed out");
        if (!planner.running()) throw std::runtime_error("planner-run exited early");
        std::this_thread::sleep_for(std::chrono::milliseconds{1});
    }
    planner.signal(SIGSTOP);
    fill(c, "health_events", "", count);
    const auto planner_start = bench::now_ns();
    planner.signal(SIGCONT);
    while (!(sentinel_written(dir / "actions") && pending(c) == 0)) {
        if (std::chrono::steady_clock::now() > until) throw std::runtime_error("planner timed out");
        if (!planner.running()) throw std::runtime_error("planner-run exited early");
        std::this_thread::sleep_for(std::chrono::microseconds{500});
    }
    const auto planner_end = bench::now_ns();
    const double rss_peak_kib = bench::proc_status_kib(planner.pid(), "VmHWM").value_or(0);
    const auto summary = bench::stop_planner(planner, dir / "planner.err");
    const long received = summary.at("received_total");
    const long acked = summary.at("streams").at("acked");

    const double base_rate =
        static_cast<double>(total) / bench::seconds_between(base_start, base_end);
    const double planner_rate =
        static_cast<double>(total) / bench::seconds_between(planner_start, planner_end);
    bench::Report report("streams_intake");
    report.figure("entries", static_cast<double>(total), "entries");
    report.figure("baseline (XREADGROUP + XACK, hiredis) drain rate", base_rate, "1/s");
    report.figure("planner-run --intake streams drain rate", planner_rate, "1/s");
    report.figure("planner-run / baseline", 100.0 * planner_rate / base_rate, "%",
                  bench::Target::at_least(80));
    report.figure("planner-run peak RSS", rss_peak_kib / 1024.0, "MiB");
    report.check("baseline read every entry", base_count == total);
    report.check("planner-run received every entry", received == total);
    report.check("planner-run acknowledged every entry", acked == total);
    report.check("nothing left pending", pending(c) == 0);
    fs::remove_all(dir);
    report.print_table();
    return report.exit_code();
} catch (const std::exception& e) {
    std::fprintf(stderr, "bench_streams: %s\n", e.what());
    return 2;
}
