// Each fake of planner/testing.hpp fails the way the real component it stands for fails: the same
// agent, given the fake or the real thing in the same fault, ends the same way (result, log
// event, counters, cooldown). Otherwise a test written against the fake would prove nothing.

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <catch2/catch.hpp>

#include <planner/agent.hpp>
#include <planner/agent_testing.hpp>
#include <planner/chain_router.hpp>
#include <planner/file_sinks.hpp>
#include <planner/log.hpp>
#include <planner/testing.hpp>

#include "support/small_tmpfs.hpp"
#include "support/temp_dir.hpp"

using namespace planner;
using namespace planner::testing;
using namespace std::chrono_literals;

namespace {

/// How one handle_event ended, as far as a caller can see.
struct Outcome {
    HandleResult result = HandleResult::abandoned;
    bool cooldown_recorded = false;
    std::uint64_t chain_failures = 0;
    std::uint64_t write_failures = 0;
    std::uint64_t emit_failures = 0;
    friend bool operator==(const Outcome&, const Outcome&) = default;
};

std::ostream& operator<<(std::ostream& os, const Outcome& o) {
    return os << to_string(o.result) << " cooldown=" << o.cooldown_recorded
              << " chain_failures=" << o.chain_failures << " write_failures=" << o.write_failures
              << " emit_failures=" << o.emit_failures;
}

/// One agent's collaborators: recording fakes, any of which a test swaps for a real component.
struct Wiring {
    FakeRouter router = FakeRouter::always(make_route_result());
    RecordingActionSink actions;
    RecordingEventSink events;
    RecordingLogSink log;

    /// Handles one event with a fresh agent; a non-null argument replaces that fake.
    Outcome plan_once(LLMRouter* real_router = nullptr, ActionSink* real_actions = nullptr,
                      EventSink* real_events = nullptr, LogSink* real_log = nullptr) {
        PlannerAgent agent({}, {.router = real_router ? *real_router : router,
                                .actions = real_actions ? *real_actions : actions,
                                .events = real_events ? *real_events : events,
                                .log = real_log ? *real_log : log});
        const auto event = make_health_event();
        Outcome o;
        o.result = handle_event(agent, event);
        o.cooldown_recorded = !agent.cooldown().is_ready(event.svc_key());
        const auto c = agent.counters();
        o.chain_failures = c.chain_failures;
        o.write_failures = c.write_failures;
        o.emit_failures = c.emit_failures;
        return o;
    }
};

/// The statuses of the attempts a chain_failed line carries.
std::vector<std::string> logged_attempt_statuses(const RecordingLogSink& log) {
    std::vector<std::string> out;
    const auto lines = log.lines("chain_failed");
    if (lines.size() != 1) return {"expected one chain_failed line"};
    for (const auto& a : lines[0].fields.at("attempts")) out.push_back(a.at("status"));
    return out;
}

/// The one `event` line says the disk is full.
void check_logged_no_space(const RecordingLogSink& log, std::string_view event) {
    REQUIRE(log.count(event) == 1);
    const auto error = log.lines(event)[0].fields.at("error").get<std::string>();
    INFO(error);
    CHECK(error.find(std::strerror(ENOSPC)) != std::string::npos);
}

/// A 256 KiB tmpfs at `dir`; false (with a warning) where this machine does not allow mounting.
bool mounted(const SmallTmpfs& disk) {
    if (!disk.mounted()) WARN("cannot mount a tmpfs (" << disk.error() << "); ENOSPC not compared");
    return disk.mounted();
}

}  // namespace

TEST_CASE("fidelity: FakeRouter failing is a chain failure, as a chain whose model is down",
          "[fidelity]") {
    // The real thing: the production chain, its one model on a loopback port nobody serves.
    ChainRouterOptions options;
    options.models = {"ollama/qwen2.5:7b@http://127.0.0.1:1"};
    options.max_retries = 0;
    options.attempt_timeout = 5s;
    const auto chain = make_chain_router(options);
    Wiring real;
    const auto with_real = real.plan_once(chain.get());

    Wiring fake;
    FakeRouter failing({Reply::fail()});
    const auto with_fake = fake.plan_once(&failing);

    CHECK(with_real.result == HandleResult::chain_failed);
    CHECK_FALSE(with_real.cooldown_recorded);
    CHECK(with_fake == with_real);
    CHECK(logged_attempt_statuses(real.log) == std::vector<std::string>{"error"});
    CHECK(logged_attempt_statuses(fake.log) == logged_attempt_statuses(real.log));
    CHECK(real.actions.written().empty());
    CHECK(fake.actions.written().empty());
}

TEST_CASE(
    "fidelity: RecordingActionSink failing is a write failure, as FileActionSink on a "
    "full disk",
    "[fidelity][disk]") {
    TempDir tmp;
    SmallTmpfs disk(tmp / "disk", 256 * 1024);
    if (!mounted(disk)) return;
    FileActionSink file_actions(disk.path() / "actions");
    REQUIRE(SmallTmpfs::fill(disk.path() / "filler") == ENOSPC);
    Wiring real;
    const auto with_real = real.plan_once(nullptr, &file_actions);

    Wiring fake;
    fake.actions.fail_next(1);
    const auto with_fake = fake.plan_once();

    CHECK(with_real.result == HandleResult::write_failed);
    CHECK_FALSE(with_real.cooldown_recorded);
    CHECK(with_fake == with_real);
    check_logged_no_space(real.log, "write_failed");
    check_logged_no_space(fake.log, "write_failed");
    CHECK(real.events.emitted().empty());
    CHECK(fake.events.emitted().empty());
}

TEST_CASE(
    "fidelity: RecordingEventSink failing is an emit failure, as FileEventSink on a full "
    "disk",
    "[fidelity][disk]") {
    TempDir tmp;
    SmallTmpfs disk(tmp / "disk", 256 * 1024);
    if (!mounted(disk)) return;
    FileEventSink file_events(disk.path() / "events", [] { return std::string("solaria"); });
    REQUIRE(SmallTmpfs::fill(disk.path() / "filler") == ENOSPC);
    Wiring real;
    const auto with_real = real.plan_once(nullptr, nullptr, &file_events);

    Wiring fake;
    fake.events.fail_next(1);
    const auto with_fake = fake.plan_once();

    CHECK(with_real.result == HandleResult::proposed);
    CHECK(with_real.cooldown_recorded);  // the action exists, so a retry would duplicate it
    CHECK(with_fake == with_real);
    check_logged_no_space(real.log, "emit_failed");
    check_logged_no_space(fake.log, "emit_failed");
    CHECK(real.actions.written().size() == 1);
    CHECK(fake.actions.written().size() == 1);
}

TEST_CASE(
    "fidelity: RecordingLogSink losing lines changes nothing, as JsonLinesLogSink on a "
    "full disk",
    "[fidelity]") {
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> full(std::fopen("/dev/full", "w"),
                                                         &std::fclose);
    REQUIRE(full != nullptr);
    JsonLinesLogSink full_log(full.get(), LogLevel::debug);
    Wiring real;
    const auto with_real = real.plan_once(nullptr, nullptr, nullptr, &full_log);

    Wiring fake;
    fake.log.drop_next(1'000);
    const auto with_fake = fake.plan_once();

    CHECK(with_real.result == HandleResult::proposed);
    CHECK(with_fake == with_real);
    CHECK(fake.log.lines().empty());
    CHECK(fake.log.dropped() >= 1);  // proposal_written at least
    CHECK(fake.actions.written().size() == real.actions.written().size());
    CHECK(fake.events.emitted().size() == real.events.emitted().size());
}
