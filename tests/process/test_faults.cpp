// Faults with real processes: planner-run against a redis-server that is killed, restarted and
// frozen, an actions directory that disappears, kill -9 in the middle of writing, and hostile
// messages on the bus. Every wait is on a condition with a deadline; the only fixed waits make
// a fault last (a frozen Redis), never make a check pass.

#ifdef PLANNER_RUN_PATH

#include <hiredis/hiredis.h>

#include <cstdio>
#include <thread>

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "support/planner_run_process.hpp"
#include "support/proc_status.hpp"
#include "support/process.hpp"
#include "support/provider_server.hpp"
#include "support/redis_server.hpp"
#include "support/small_tmpfs.hpp"
#include "support/temp_dir.hpp"
#include "support/wire_formats.hpp"

using namespace planner::testing;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string service_event(const std::string& service, const std::string& node = "piha",
                          const std::string& type = "service_unhealthy") {
    return nlohmann::json{{"type", type}, {"node", node}, {"service", service}}.dump();
}

/// planner-run on `redis` with the offline rules model, debug logs, its files under `files`
/// (default: `tmp`); flags in `extra` come last, so they override these.
std::unique_ptr<PlannerRunProcess> start_on_redis(const TempDir& tmp, const RedisServer& redis,
                                                  std::vector<std::string> extra = {},
                                                  fs::path files = {}) {
    if (files.empty()) files = tmp.path();
    std::vector<std::string> args{"--redis",       redis.url(),
                                  "--model",       "rules",
                                  "--log-level",   "debug",
                                  "--actions-dir", (files / "actions").string(),
                                  "--events-dir",  (files / "events").string(),
                                  "--node",        "solaria"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto run = std::make_unique<PlannerRunProcess>(kPlannerRun, tmp, args);
    REQUIRE(eventually([&] { return redis.subscribers("health_events") == 1; }));
    return run;
}

/// Action files whose proposal is for `service`.
std::size_t actions_for(const fs::path& dir, const std::string& service) {
    std::size_t n = 0;
    for (const auto& f : files_under(dir)) {
        const auto j = nlohmann::json::parse(read_text(f), nullptr, false);
        if (!j.is_discarded() && j.value("service", "") == service) ++n;
    }
    return n;
}

/// Every file under `dir` with a final name holds complete JSON; returns how many temporaries
/// (`.tmp-*`) there are.
std::size_t check_complete_files(const fs::path& dir) {
    std::size_t temporaries = 0;
    for (const auto& f : files_under(dir)) {
        const auto name = f.filename().string();
        if (name.starts_with(".tmp-")) {
            UNSCOPED_INFO("temporary " << f);
            ++temporaries;
            continue;
        }
        INFO(f);
        CHECK(f.extension() == ".json");
        const auto j = nlohmann::json::parse(read_text(f), nullptr, false);
        CHECK(j.is_object());
    }
    return temporaries;
}

/// How many times `needle` occurs in `text`.
std::size_t occurrences(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
}

}  // namespace

TEST_CASE("faults: redis killed and restarted while events flow, cooldown survives",
          "[faults][redis]") {
    TempDir tmp;
    RedisServer redis;
    auto run = start_on_redis(tmp, redis);
    REQUIRE(redis.publish("health_events", service_event("before")) == 1);
    REQUIRE(eventually([&] { return actions_for(tmp / "actions", "before") == 1; }));

    redis.stop();
    // While Redis is down a publisher cannot even deliver to Redis.
    std::size_t published = 0;
    std::size_t lost = 0;
    for (int i = 0; i < 5; ++i, ++published) {
        if (redis.publish("health_events", service_event("down-" + std::to_string(i))) < 1) ++lost;
    }
    redis.start();
    // Until the planner has resubscribed (backoff from 100 ms), PUBLISH reaches nobody. The
    // last one may race the SUBSCRIBE and arrive: it is then delivered, not lost.
    std::vector<std::string> delivered;
    for (int i = 0; redis.subscribers("health_events") < 1; ++i, ++published) {
        REQUIRE(i < 100'000);
        const std::string service = "gap-" + std::to_string(i);
        if (redis.publish("health_events", service_event(service)) < 1) {
            ++lost;
        } else {
            delivered.push_back(service);
        }
    }
    std::printf("faults: redis restart: %zu events published during the outage, %zu lost\n",
                published, lost);
    CHECK(lost + delivered.size() == published);
    CHECK(lost >= 5);  // at least every publish while the server was down
    CHECK(run->count_log("redis_state", "state", "disconnected") >= 1);

    // After reconnecting: a new service is planned, the old one is still cooling down.
    REQUIRE(redis.publish("health_events", service_event("before")) == 1);
    REQUIRE(redis.publish("health_events", service_event("after")) == 1);
    REQUIRE(eventually([&] { return actions_for(tmp / "actions", "after") == 1; }));
    INFO(run->stderr_text());
    REQUIRE(eventually([&] { return run->count_log("skip_cooldown", "key", "piha/before") == 1; }));
    for (const auto& service : delivered) CHECK(actions_for(tmp / "actions", service) == 1);
    CHECK(actions_for(tmp / "actions", "before") == 1);
    for (int k = 0; k < 5; ++k)
        CHECK(actions_for(tmp / "actions", "down-" + std::to_string(k)) == 0);
    CHECK(run->process().running());
}

TEST_CASE("faults: redis frozen with SIGSTOP longer than the poll interval, then resumed",
          "[faults][redis]") {
    TempDir tmp;
    RedisServer redis;
    auto run = start_on_redis(tmp, redis);
    const pid_t pid = redis.pid();
    REQUIRE(pid > 0);
    REQUIRE(::kill(pid, SIGSTOP) == 0);
    // A publisher during the freeze blocks in the kernel's socket buffer; its message is
    // delivered once Redis runs again, because the planner's connection stayed open.
    long long delivered = -2;
    std::thread publisher(
        [&] { delivered = redis.publish("health_events", service_event("frozen")); });
    // The fault itself lasts: 15 poll intervals (100 ms) without an answer from Redis.
    std::this_thread::sleep_for(1500ms);
    REQUIRE(::kill(pid, SIGCONT) == 0);
    publisher.join();
    CHECK(run->process().running());
    REQUIRE(eventually([&] { return redis.subscribers("health_events") == 1; }));
    // Whether the frozen message arrived (same connection) or was lost (reconnect), a message
    // after the thaw is planned.
    REQUIRE(redis.publish("health_events", service_event("thawed")) == 1);
    REQUIRE(eventually([&] { return actions_for(tmp / "actions", "thawed") == 1; }));
    std::printf("faults: redis SIGSTOP 1.5 s: message published during the freeze %s\n",
                actions_for(tmp / "actions", "frozen") == 1 ? "planned" : "lost");
    CHECK(delivered == 1);
    CHECK(actions_for(tmp / "actions", "frozen") == 1);
}

TEST_CASE("faults: the actions directory replaced by a file, then restored", "[faults][redis]") {
    // Permission bits do not stop root, so the fault is the directory itself going away.
    TempDir tmp;
    RedisServer redis;
    auto run = start_on_redis(tmp, redis);
    const fs::path actions = tmp / "actions";
    REQUIRE(redis.publish("health_events", service_event("first")) == 1);
    REQUIRE(eventually([&] { return actions_for(actions, "first") == 1; }));
    REQUIRE(eventually([&] { return finished_files_under(tmp / "events").size() == 1; }));
    const auto events_before = finished_files_under(tmp / "events").size();

    fs::remove_all(actions);
    {
        std::FILE* f = std::fopen(actions.c_str(), "w");
        REQUIRE(f != nullptr);
        std::fclose(f);
    }
    REQUIRE(redis.publish("health_events", service_event("broken")) == 1);
    REQUIRE(eventually([&] { return run->count_log("write_failed", "key", "piha/broken") == 1; }));
    const auto failures = run->log_lines();
    for (const auto& l : failures) {
        if (l.value("event", "") != "write_failed") continue;
        CHECK(l["level"] == "error");
        CHECK(l["error"].get<std::string>().find(actions.string()) != std::string::npos);
    }
    CHECK(fs::is_regular_file(actions));
    CHECK(fs::file_size(actions) == 0);  // nothing half-written where the directory was
    CHECK(files_under(tmp / "events").size() == events_before);
    CHECK(check_complete_files(tmp / "events") == 0);

    fs::remove(actions);
    fs::create_directory(actions);
    // No cooldown was recorded for the failed proposal: the next event for it is planned.
    REQUIRE(redis.publish("health_events", service_event("broken")) == 1);
    REQUIRE(eventually([&] { return actions_for(actions, "broken") == 1; }));
    CHECK(eventually(
        [&] { return finished_files_under(tmp / "events").size() == events_before + 1; }));
    CHECK(check_complete_files(actions) == 0);
    std::string tree;
    for (const auto& f : files_under(tmp.path())) tree += f.string() + "\n";
    INFO(tree << run->stderr_text());
}

TEST_CASE("faults: the actions directory removed while running", "[faults][redis]") {
    TempDir tmp;
    RedisServer redis;
    auto run = start_on_redis(tmp, redis);
    const fs::path actions = tmp / "actions";
    fs::remove_all(actions);
    REQUIRE(redis.publish("health_events", service_event("gone")) == 1);
    REQUIRE(eventually([&] { return run->count_log("write_failed", "key", "piha/gone") == 1; }));
    CHECK_FALSE(fs::exists(actions));  // not silently recreated somewhere unexpected
    fs::create_directory(actions);
    REQUIRE(redis.publish("health_events", service_event("gone")) == 1);
    REQUIRE(eventually([&] { return actions_for(actions, "gone") == 1; }));
}

TEST_CASE("faults: kill -9 while writing proposals leaves only complete files", "[faults][crash]") {
    TempDir tmp;
    // Many distinct services, so the planner is writing files when it is killed.
    {
        std::FILE* f = std::fopen((tmp / "events.jsonl").c_str(), "w");
        REQUIRE(f != nullptr);
        for (int i = 0; i < 3000; ++i) {
            const auto line = service_event("svc-" + std::to_string(i)) + "\n";
            std::fwrite(line.data(), 1, line.size(), f);
        }
        std::fclose(f);
    }
    const std::vector<std::string> args{"--replay",      (tmp / "events.jsonl").string(),
                                        "--model",       "rules",
                                        "--actions-dir", (tmp / "actions").string(),
                                        "--events-dir",  (tmp / "events").string(),
                                        "--node",        "solaria",
                                        "--workers",     "4"};
    std::size_t temporaries_seen = 0;
    std::size_t last = 0;
    for (int round = 0; round < 6; ++round) {
        PlannerRunProcess run(kPlannerRun, tmp, args, {}, "kill-" + std::to_string(round));
        // Kill at a different point each round: after a few more files than last time.
        const std::size_t target = last + 5 + static_cast<std::size_t>(round) * 7;
        REQUIRE(eventually([&] { return files_under(tmp / "actions").size() >= target; }));
        run.process().signal(SIGKILL);
        REQUIRE(run.wait(10s) == 128 + SIGKILL);
        last = files_under(tmp / "actions").size();
        temporaries_seen += check_complete_files(tmp / "actions");
        temporaries_seen += check_complete_files(tmp / "events");
    }
    std::printf("faults: kill -9 x6: %zu action files, %zu stale temporaries left by the kills\n",
                last, temporaries_seen);
    // The next start removes every stale temporary before planning anything.
    {
        std::FILE* f = std::fopen((tmp / "none.jsonl").c_str(), "w");
        REQUIRE(f != nullptr);
        std::fclose(f);
    }
    // Plant one in each place a crash can leave one, in case the kills never hit a write.
    fs::create_directories(tmp / "events" / "2026-01-01" / "solaria");
    for (const auto& dir : {tmp / "actions", tmp / "events" / "2026-01-01" / "solaria"}) {
        std::FILE* f = std::fopen((dir / ".tmp-planted").c_str(), "w");
        REQUIRE(f != nullptr);
        std::fputs("{\"half", f);
        std::fclose(f);
    }
    PlannerRunProcess clean(
        kPlannerRun, tmp,
        {"--replay", (tmp / "none.jsonl").string(), "--model", "rules", "--actions-dir",
         (tmp / "actions").string(), "--events-dir", (tmp / "events").string()},
        {}, "clean");
    REQUIRE(clean.wait(20s) == 0);
    CHECK(check_complete_files(tmp / "actions") == 0);
    CHECK(check_complete_files(tmp / "events") == 0);
}

TEST_CASE("faults: hostile messages through Redis: one log line each, the planner lives",
          "[faults][redis]") {
    TempDir tmp;
    RedisServer redis;
    auto run = start_on_redis(tmp, redis);
    std::string nul_bytes = service_event("nul");
    nul_bytes.insert(10, std::string("\0\0", 2));
    const std::vector<std::pair<std::string, std::string>> hostile{
        {"10 MiB",
         "{\"type\":\"service_down\",\"node\":\"piha\",\"service\":\"big\",\"payload\":\"" +
             std::string(10 * 1024 * 1024, 'x') + "\"}"},
        {"10 000 levels", std::string(10'000, '[') + std::string(10'000, ']')},
        {"10 000 levels in payload",
         "{\"type\":\"service_down\",\"node\":\"piha\",\"service\":"
         "\"deep\",\"payload\":" +
             std::string(10'000, '[') + std::string(10'000, ']') + "}"},
        {"invalid UTF-8",
         "{\"type\":\"service_down\",\"node\":\"pi\xff\xfe\",\"service\":\"utf\"}"},
        {"NUL bytes", nul_bytes},
        {"only NULs", std::string(64, '\0')},
    };
    std::size_t expected = 0;
    for (const auto& [name, message] : hostile) {
        INFO(name);
        REQUIRE(redis.publish("health_events", message) == 1);
        ++expected;
        REQUIRE(eventually([&] { return run->count_log("skip_malformed") == expected; }));
        CHECK(run->process().running());
    }
    // Every log line is still one valid JSON object (no raw bytes from the bus), and none holds
    // the content of a rejected message.
    for (const auto& l : run->log_lines()) {
        CHECK_FALSE(l.contains("unparsed"));
        CHECK(l.dump().size() < 4096);
    }
    REQUIRE(redis.publish("health_events", service_event("alive")) == 1);
    REQUIRE(eventually([&] { return actions_for(tmp / "actions", "alive") == 1; }));
    CHECK(files_under(tmp / "actions").size() == 1);
}

TEST_CASE("faults: a model that never answers does not stall intake, and events coalesce",
          "[faults][redis]") {
    TempDir tmp;
    RedisServer redis;
    ProviderServer model;
    model.script({hang(), hang(), hang()});
    std::vector<std::string> args{"--redis",       redis.url(),
                                  "--model",       "ollama/qwen2.5:7b@" + model.url(),
                                  "--llm-timeout", "30",
                                  "--stop-grace",  "0.2",
                                  "--actions-dir", (tmp / "actions").string(),
                                  "--events-dir",  (tmp / "events").string(),
                                  "--node",        "solaria"};
    PlannerRunProcess run(kPlannerRun, tmp, args);
    REQUIRE(eventually([&] { return redis.subscribers("health_events") == 1; }));
    REQUIRE(redis.publish("health_events", service_event("svc-0")) == 1);
    REQUIRE(eventually([&] { return model.requests().size() == 1; }));  // the worker is stuck

    // While the only worker waits on the model, 20 rounds over 10 services arrive.
    std::vector<std::string> storm;
    for (int round = 0; round < 20; ++round) {
        for (int svc = 0; svc < 10; ++svc)
            storm.push_back(service_event("svc-" + std::to_string(svc)));
    }
    REQUIRE(redis.publish_many("health_events", storm) == storm.size());
    // Intake kept reading: a malformed marker after the storm is rejected with a log line, and
    // messages are handled in order, so the whole storm went through intake before it.
    REQUIRE(redis.publish("health_events", "marker: not an event") == 1);
    REQUIRE(eventually([&] { return run.count_log("skip_malformed") == 1; }));

    run.process().signal(SIGTERM);
    REQUIRE(run.wait(20s) == 0);
    model.release();
    const auto lines = run.log_lines();
    REQUIRE_FALSE(lines.empty());
    const auto& summary = lines.back();
    INFO(summary.dump());
    REQUIRE(summary["event"] == "planner_stopped");
    CHECK(summary["received"]["health_events"] == 1 + storm.size() + 1);
    CHECK(summary["routed"] == 1);
    // svc-0 is in flight and svc-1..9 were queued once each; the rest coalesced.
    CHECK(summary["skipped"]["coalesced"] == storm.size() - 9);
    CHECK(summary["skipped"]["malformed"] == 1);
    CHECK(summary["skipped"]["queue_full"] == 0);
    CHECK(summary["abandoned"] == 9);
    CHECK(model.requests().size() == 1);
    CHECK(files_under(tmp / "actions").empty());
}

TEST_CASE("faults: the disk fills up (ENOSPC) and then space comes back", "[faults][disk]") {
    TempDir tmp;
    SmallTmpfs disk(tmp / "disk", 256 * 1024);
    if (!disk.mounted()) {
        // Then only the fault-injecting sink of "write failure is logged with no cooldown and no
        // event" (test_agent.cpp) covers a failed write.
        WARN("cannot mount a tmpfs here (" << disk.error() << "); real ENOSPC not tested");
        return;
    }
    RedisServer redis;
    const fs::path actions = disk.path() / "actions";
    const fs::path events = disk.path() / "events";
    auto run = start_on_redis(tmp, redis, {}, disk.path());
    REQUIRE(redis.publish("health_events", service_event("first")) == 1);
    REQUIRE(eventually([&] { return actions_for(actions, "first") == 1; }));
    REQUIRE(eventually([&] { return finished_files_under(events).size() == 1; }));

    REQUIRE(SmallTmpfs::fill(disk.path() / "filler") == ENOSPC);
    REQUIRE(redis.publish("health_events", service_event("full")) == 1);
    REQUIRE(eventually([&] { return run->count_log("write_failed", "key", "piha/full") == 1; }));
    for (const auto& l : run->log_lines()) {
        if (l.value("event", "") != "write_failed") continue;
        INFO(l.dump());
        CHECK(l["level"] == "error");
        const auto error = l["error"].get<std::string>();
        CHECK(error.find("No space left on device") != std::string::npos);
        CHECK(error.find(actions.string()) != std::string::npos);  // says where
    }
    // Nothing half-written: no temporary, no new event, only the first proposal.
    CHECK(check_complete_files(actions) == 0);
    CHECK(check_complete_files(events) == 0);
    CHECK(files_under(actions).size() == 1);
    CHECK(files_under(events).size() == 1);
    CHECK(run->process().running());

    fs::remove(disk.path() / "filler");
    // No cooldown was recorded for the failed proposal: the same event is planned now.
    REQUIRE(redis.publish("health_events", service_event("full")) == 1);
    REQUIRE(eventually([&] { return actions_for(actions, "full") == 1; }));
    CHECK(eventually([&] { return finished_files_under(events).size() == 2; }));
    CHECK(check_complete_files(actions) == 0);
    CHECK(check_complete_files(events) == 0);
    INFO(run->stderr_text());
    CHECK(run->count_log("proposal_written") == 2);
}

TEST_CASE("faults: the actions directory made read-only and then writable again",
          "[faults][disk]") {
    // Permission bits do not stop root; a read-only mount stops everyone.
    TempDir tmp;
    SmallTmpfs disk(tmp / "disk", 256 * 1024);
    if (!disk.mounted()) {
        WARN("cannot mount a tmpfs here (" << disk.error() << "); read-only mount not tested");
        return;
    }
    RedisServer redis;
    const fs::path actions = disk.path() / "actions";
    auto run = start_on_redis(tmp, redis, {}, disk.path());
    REQUIRE(redis.publish("health_events", service_event("first")) == 1);
    REQUIRE(eventually([&] { return actions_for(actions, "first") == 1; }));

    // The remediation_started file too, so the planner has finished writing to this disk.
    REQUIRE(eventually([&] { return finished_files_under(disk.path() / "events").size() == 1; }));
    REQUIRE(disk.set_read_only(true) == std::string{});
    REQUIRE(redis.publish("health_events", service_event("readonly")) == 1);
    REQUIRE(
        eventually([&] { return run->count_log("write_failed", "key", "piha/readonly") == 1; }));
    for (const auto& l : run->log_lines()) {
        if (l.value("event", "") != "write_failed") continue;
        INFO(l.dump());
        CHECK(l["error"].get<std::string>().find("Read-only file system") != std::string::npos);
    }
    CHECK(files_under(actions).size() == 1);

    // A planner started on a read-only directory refuses to run, in one line, before Redis.
    PlannerRunProcess refused(kPlannerRun, tmp,
                              {"--redis", redis.url(), "--model", "rules", "--actions-dir",
                               actions.string(), "--events-dir", (tmp / "events").string()},
                              {}, "refused");
    REQUIRE(refused.wait(20s) == 2);
    const auto refusal = split_lines(refused.stderr_text());
    INFO(refused.stderr_text());
    REQUIRE(refusal.size() == 1);
    CHECK(refusal[0].find(actions.string()) != std::string::npos);

    REQUIRE(disk.set_read_only(false) == std::string{});
    REQUIRE(redis.publish("health_events", service_event("readonly")) == 1);
    REQUIRE(eventually([&] { return actions_for(actions, "readonly") == 1; }));
    CHECK(check_complete_files(actions) == 0);
    CHECK(run->process().running());
}

TEST_CASE("faults: redis closes a slow planner at its client output buffer limit",
          "[faults][redis]") {
    // A 256 KiB hard limit for subscribers instead of Redis's 32 MiB, so a few MiB overflow it.
    RedisServer redis({"--client-output-buffer-limit", "pubsub", "256kb", "0", "0"});
    TempDir tmp;
    auto run = start_on_redis(tmp, redis, {"--log-level", "info"});
    REQUIRE(redis.publish("health_events", service_event("before")) == 1);
    REQUIRE(eventually([&] { return actions_for(tmp / "actions", "before") == 1; }));

    // A planner that stops reading: its socket buffers fill, then Redis's buffer for it.
    run->process().signal(SIGSTOP);
    const std::string heartbeat = nlohmann::json{{"type", "heartbeat"},
                                                 {"node", "piha"},
                                                 {"service", "agent"},
                                                 {"payload", {{"padding", std::string(1000, 'p')}}}}
                                      .dump();
    const std::vector<std::string> flood(16 * 1024, heartbeat);  // 16 MiB
    CHECK(redis.publish_many("health_events", flood) == flood.size());
    const std::string closed = "closed ASAP for overcoming of output buffer limits";
    CHECK(eventually([&] { return occurrences(redis.log_text(), closed) == 1; }));
    CHECK(redis.subscribers("health_events") == 0);
    run->process().signal(SIGCONT);

    // The planner reads what reached its socket, sees the close and subscribes again.
    REQUIRE(
        eventually([&] { return run->count_log("redis_state", "state", "disconnected") == 1; }));
    REQUIRE(eventually([&] { return redis.subscribers("health_events") == 1; }));
    REQUIRE(redis.publish("health_events", service_event("before")) == 1);  // still cooling down
    REQUIRE(redis.publish("health_events", service_event("after")) == 1);
    REQUIRE(eventually([&] { return actions_for(tmp / "actions", "after") == 1; }));
    CHECK(actions_for(tmp / "actions", "before") == 1);

    run->process().signal(SIGTERM);
    REQUIRE(run->wait(20s) == 0);
    const auto summary = run->log_lines().back();
    INFO(summary.dump());
    REQUIRE(summary["event"] == "planner_stopped");
    const auto received = summary["received"]["health_events"].get<std::size_t>();
    REQUIRE(received >= 3);
    const std::size_t flood_received = received - 3;
    std::printf(
        "faults: redis output buffer limit (256 KiB): %zu of %zu flood messages "
        "reached the planner, %zu lost\n",
        flood_received, flood.size(), flood.size() - flood_received);
    CHECK(flood_received < flood.size());  // the limit really cut the planner off
    CHECK(summary["skipped"]["cooldown"] == 1);
    CHECK(summary["skipped"]["benign"] == flood_received);
}

TEST_CASE("faults: a flood of 100 000 tiny messages per second keeps memory and logs bounded",
          "[faults][redis][flood]") {
    TempDir tmp;
    // No output buffer limit: a planner slowed down by sanitizers must not be cut off here (the
    // limit has its own test above).
    RedisServer redis({"--client-output-buffer-limit", "pubsub", "0", "0", "0"});
    auto run = start_on_redis(tmp, redis, {"--log-level", "info"});
    const pid_t pid = run->process().pid();
    const auto rss_before_kib = static_cast<long>(proc_status_kib(pid, "VmRSS").value_or(-1));

    // Paced at 100 000 messages/s in batches of 1 000 every 10 ms, for 2 s; every 10 000th is a
    // real event for one of 20 services, the rest are malformed, each one a log line to refuse.
    // Sanitized builds drain 20 times slower, so they flood for 1 s (10 services).
    constexpr std::size_t kRate = 100'000;
    constexpr std::size_t kBatch = 1'000;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    constexpr std::size_t kTotal = kRate;
#else
    constexpr std::size_t kTotal = 2 * kRate;
#endif
    auto publisher = redis.connect();
    REQUIRE(publisher);
    std::size_t accepted = 0;
    std::size_t events = 0;
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t sent = 0; sent < kTotal; sent += kBatch) {
        std::this_thread::sleep_until(start + std::chrono::microseconds(sent * 1'000'000 / kRate));
        for (std::size_t i = sent; i < sent + kBatch; ++i) {
            std::string m = "x";
            if (i % 10'000 == 0) m = service_event("flood-" + std::to_string(events++ % 20));
            redisAppendCommand(publisher.get(), "PUBLISH health_events %b", m.data(), m.size());
        }
        for (std::size_t i = 0; i < kBatch; ++i) {
            void* reply = nullptr;
            if (redisGetReply(publisher.get(), &reply) != REDIS_OK) break;
            if (static_cast<redisReply*>(reply)->type == REDIS_REPLY_INTEGER) ++accepted;
            freeReplyObject(reply);
        }
        REQUIRE(accepted == sent + kBatch);
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    // Redis delivers in order: once this sentinel is planned, the whole flood went through.
    REQUIRE(redis.publish("health_events", service_event("sentinel")) == 1);
    REQUIRE(eventually([&] { return actions_for(tmp / "actions", "sentinel") == 1; }, 120s));
    const double drained_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto hwm_kib = static_cast<long>(proc_status_kib(pid, "VmHWM").value_or(-1));
    const auto rss_after_kib = static_cast<long>(proc_status_kib(pid, "VmRSS").value_or(-1));

    run->process().signal(SIGTERM);
    REQUIRE(run->wait(20s) == 0);
    const auto lines = run->log_lines();
    const auto& summary = lines.back();
    INFO(summary.dump());
    REQUIRE(summary["event"] == "planner_stopped");
    const std::size_t malformed = kTotal - events;
    std::size_t malformed_lines = 0;
    std::uint64_t suppressed = 0;
    for (const auto& l : lines) {
        if (l.value("event", "") == "skip_malformed") ++malformed_lines;
        if (l.value("event", "") == "log_suppressed" &&
            l.value("suppressed_event", "") == "skip_malformed") {
            suppressed += l["suppressed"].get<std::uint64_t>();
        }
    }
    const auto log_bytes = run->stderr_text().size();
    std::printf(
        "faults: flood: %zu messages in %.2f s (%.0f/s), all handled after %.2f s, "
        "planner RSS %ld -> %ld KiB (peak %ld KiB), %zu log lines (%zu bytes), %zu "
        "refusals logged, %llu counted as suppressed\n",
        accepted, seconds, static_cast<double>(accepted) / seconds, drained_s, rss_before_kib,
        rss_after_kib, hwm_kib, lines.size(), log_bytes, malformed_lines,
        static_cast<unsigned long long>(suppressed));

    if (static_cast<double>(accepted) / seconds < 0.95 * kRate) {
        WARN("the publisher fell behind 100 000/s on this machine");
    }
    // Nothing lost: every message was received, every refusal is either a line or counted.
    CHECK(summary["received"]["health_events"] == kTotal + 1);
    CHECK(summary["skipped"]["malformed"] == malformed);
    CHECK(malformed_lines + suppressed == malformed);
    // 20 lines a second at most, from the first message until the planner had caught up.
    CHECK(malformed_lines <= 20 * (static_cast<std::size_t>(drained_s) + 2));
    CHECK(log_bytes < 1024 * 1024);
    // Each service once (its cooldown holds), and the sentinel.
    CHECK(files_under(tmp / "actions").size() == std::min<std::size_t>(events, 20) + 1);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    // Sanitizers keep freed memory in quarantine, so the bound is for plain builds.
    CHECK(hwm_kib < 32 * 1024);
#endif
}

#endif  // PLANNER_RUN_PATH
