/// Can planner-run --intake streams drain a stream as fast as a bare consumer can?
///
/// One private redis-server, two streams filled alike with N heartbeats (benign: the planner's
/// own cost per entry, not the model's) and one actionable sentinel. The baseline, in this
/// process, is the physical limit: hiredis XREADGROUP COUNT 256 + XACK and nothing else, on
/// `baseline_events` (the target's baseline: an XACK round trip after each read); a second group
/// then drains the same entries with each XACK pipelined with the next read, one round trip per
/// batch, and a third keeps two reads ahead as planner-run does while a backlog drains (both
/// reported beside it, no target: the best a client can do with Redis). Then planner-run reads
/// `health_events` as group `planner`, and is done when the sentinel's action file exists and
/// nothing is pending: the rules provider and one fsynced write count against it, its start-up does
/// not (it is frozen while the stream fills).

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <ctime>
#include <deque>
#include <filesystem>
#include <sstream>
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

/// Queues one command given as arguments.
void append_argv(redisContext* c, const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
        argv.push_back(a.data());
        lens.push_back(a.size());
    }
    redisAppendCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data());
}

/// The XACK of one XREADGROUP reply's batch; every counter acknowledges the same way.
std::vector<std::string> xack_of(const std::string& group, const redisReply* entries) {
    std::vector<std::string> args{"XACK", "baseline_events", group};
    for (std::size_t i = 0; i < entries->elements; ++i) {
        const redisReply* id = entries->element[i]->element[0];
        args.emplace_back(id->str, id->len);
    }
    return args;
}

/// XREADGROUP + XACK as group `group` until `total` entries were read; returns how many.
/// Plain: one XACK round trip after each read, the issue's bare counter. `pipelined`: each
/// batch's XACK goes out with the next read, one round trip per batch.
long drain_baseline(redisContext* c, const std::string& group, long total, bool pipelined) {
    long count = 0;
    std::vector<std::string> owed;  // XACK arguments of the last batch, when pipelined
    const auto ack_reply = [c] {
        void* raw = nullptr;
        if (redisGetReply(c, &raw) != REDIS_OK || raw == nullptr) {
            throw std::runtime_error("baseline: XACK failed");
        }
        freeReplyObject(raw);
    };
    while (count < total) {
        if (!owed.empty()) append_argv(c, owed);
        redisAppendCommand(c, "XREADGROUP GROUP %s counter COUNT 256 STREAMS baseline_events >",
                           group.c_str());
        if (!owed.empty()) ack_reply();
        void* raw = nullptr;
        if (redisGetReply(c, &raw) != REDIS_OK) throw std::runtime_error("baseline: no reply");
        Reply r(static_cast<redisReply*>(raw));
        if (!r || r->type != REDIS_REPLY_ARRAY) throw std::runtime_error("baseline: no entries");
        const redisReply* entries = r->element[0]->element[1];
        auto args = xack_of(group, entries);
        count += static_cast<long>(entries->elements);
        if (pipelined && count < total) {
            owed = std::move(args);
            continue;
        }
        owed.clear();
        append_argv(c, args);
        ack_reply();
    }
    return count;
}

/// The counter with planner-run's pipeline: two reads always queued behind the one being
/// counted, each batch's XACK sent with the next read. Replies come in the order sent.
long drain_ahead(redisContext* c, const std::string& group, long total) {
    const std::string read =
        "XREADGROUP GROUP " + group + " counter COUNT 256 STREAMS baseline_events >";
    std::deque<bool> expected;  // true: a read's reply, false: an XACK's
    for (int i = 0; i < 3; ++i) {
        redisAppendCommand(c, read.c_str());
        expected.push_back(true);
    }
    long count = 0;
    while (!expected.empty()) {
        void* raw = nullptr;
        if (redisGetReply(c, &raw) != REDIS_OK) throw std::runtime_error("ahead: no reply");
        Reply r(static_cast<redisReply*>(raw));
        const bool was_read = expected.front();
        expected.pop_front();
        if (!was_read || !r || r->type != REDIS_REPLY_ARRAY) continue;  // an XACK, or nil
        const redisReply* entries = r->element[0]->element[1];
        count += static_cast<long>(entries->elements);
        append_argv(c, xack_of(group, entries));
        expected.push_back(false);
        if (count < total) {
            redisAppendCommand(c, read.c_str());
            expected.push_back(true);
        }
    }
    return count;
}

long long pending(redisContext* c) {
    Reply r = command(c, "XPENDING health_events planner");
    return r->element[0]->integer;
}

/// CPU seconds (user + system, all threads) a process used so far; 10 ms resolution.
double cpu_seconds(long pid, bool user_only = false) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    std::getline(in, text);
    if (text.find(')') == std::string::npos) return 0;
    // Fields after the command name, which is in parentheses and may hold spaces.
    std::istringstream rest(text.substr(text.rfind(')') + 2));
    std::string field;
    double ticks = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
        if (i == 14 || (i == 15 && !user_only)) ticks += std::stod(field);
    }
    return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double thread_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

/// Every entry delivered to group `planner` (XINFO GROUPS' lag is 0) and at most the sentinel
/// still pending: the heartbeats are drained, only the sentinel's fsynced files may be missing.
bool heartbeats_drained(redisContext* c) {
    Reply r = command(c, "XINFO GROUPS health_events");
    if (r->elements != 1) return false;
    const redisReply* g = r->element[0];
    for (std::size_t i = 0; i + 1 < g->elements; i += 2) {
        if (std::string_view(g->element[i]->str, g->element[i]->len) == "lag") {
            return g->element[i + 1]->type == REDIS_REPLY_INTEGER &&
                   g->element[i + 1]->integer == 0 && pending(c) <= 1;
        }
    }
    return false;
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

    const double base_redis_cpu0 = cpu_seconds(redis.pid());
    const double base_cpu0 = thread_cpu_seconds();
    const auto base_start = bench::now_ns();
    const long base_count = drain_baseline(c, "baseline", total, false);
    const auto base_end = bench::now_ns();
    const double base_cpu = thread_cpu_seconds() - base_cpu0;
    const double base_redis_cpu = cpu_seconds(redis.pid()) - base_redis_cpu0;
    command(c, "XGROUP CREATE baseline_events pipelined 0");
    const auto piped_start = bench::now_ns();
    const long piped_count = drain_baseline(c, "pipelined", total, true);
    const auto piped_end = bench::now_ns();
    command(c, "XGROUP CREATE baseline_events ahead 0");
    const auto ahead_start = bench::now_ns();
    const long ahead_count = drain_ahead(c, "ahead", total);
    const auto ahead_end = bench::now_ns();

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
    const double planner_redis_cpu0 = cpu_seconds(redis.pid());
    const double planner_cpu0 = cpu_seconds(planner.pid());
    const double planner_user0 = cpu_seconds(planner.pid(), true);
    const auto planner_start = bench::now_ns();
    planner.signal(SIGCONT);
    std::int64_t drained_end = 0;
    while (!(sentinel_written(dir / "actions") && pending(c) == 0)) {
        if (drained_end == 0 && heartbeats_drained(c)) drained_end = bench::now_ns();
        if (std::chrono::steady_clock::now() > until) throw std::runtime_error("planner timed out");
        if (!planner.running()) throw std::runtime_error("planner-run exited early");
        std::this_thread::sleep_for(std::chrono::microseconds{500});
    }
    const auto planner_end = bench::now_ns();
    if (drained_end == 0) drained_end = planner_end;
    const double planner_cpu = cpu_seconds(planner.pid()) - planner_cpu0;
    const double planner_user = cpu_seconds(planner.pid(), true) - planner_user0;
    const double planner_redis_cpu = cpu_seconds(redis.pid()) - planner_redis_cpu0;
    const double rss_peak_kib = bench::proc_status_kib(planner.pid(), "VmHWM").value_or(0);
    const auto summary = bench::stop_planner(planner, dir / "planner.err");
    const long received = summary.at("received_total");
    const long acked = summary.at("streams").at("acked");

    const double base_rate =
        static_cast<double>(total) / bench::seconds_between(base_start, base_end);
    const double piped_rate =
        static_cast<double>(total) / bench::seconds_between(piped_start, piped_end);
    const double planner_rate =
        static_cast<double>(total) / bench::seconds_between(planner_start, planner_end);
    bench::Report report("streams_intake");
    report.figure("entries", static_cast<double>(total), "entries");
    report.figure("baseline (XREADGROUP + XACK, hiredis) drain rate", base_rate, "1/s");
    report.figure("planner-run --intake streams drain rate", planner_rate, "1/s");
    report.figure("planner-run / baseline", 100.0 * planner_rate / base_rate, "%",
                  bench::Target::at_least(80));
    // The same drain without the sentinel's model call and fsynced files, which a busy disk
    // can stretch to hundreds of ms: until every entry was delivered and only it is pending.
    const double drained_rate =
        static_cast<double>(total - 1) / bench::seconds_between(planner_start, drained_end);
    report.figure("planner-run drain rate, heartbeats only", drained_rate, "1/s");
    report.figure("planner-run heartbeats only / baseline", 100.0 * drained_rate / base_rate, "%");
    // Where the time goes: CPU per entry of the consumer and of Redis during each drain (the
    // planner's side includes its driver's polling of Redis; 10 ms resolution).
    const auto per_entry_us = [total](double seconds) {
        return seconds * 1e6 / static_cast<double>(total);
    };
    report.figure("baseline CPU per entry", per_entry_us(base_cpu), "us");
    report.figure("redis CPU per entry, baseline drain", per_entry_us(base_redis_cpu), "us");
    report.figure("planner-run CPU per entry", per_entry_us(planner_cpu), "us");
    report.figure("planner-run user CPU per entry", per_entry_us(planner_user), "us");
    report.figure("redis CPU per entry, planner-run drain", per_entry_us(planner_redis_cpu), "us");
    report.figure("baseline, XACK pipelined with the next read, drain rate", piped_rate, "1/s");
    report.figure("planner-run / pipelined baseline", 100.0 * planner_rate / piped_rate, "%");
    const double ahead_rate =
        static_cast<double>(total) / bench::seconds_between(ahead_start, ahead_end);
    report.figure("baseline, two reads ahead, drain rate", ahead_rate, "1/s");
    report.figure("planner-run / reads-ahead baseline", 100.0 * planner_rate / ahead_rate, "%");
    report.figure("planner-run peak RSS", rss_peak_kib / 1024.0, "MiB");
    report.check("baseline read every entry",
                 base_count == total && piped_count == total && ahead_count == total);
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
