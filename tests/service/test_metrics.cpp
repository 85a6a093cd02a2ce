// GET /metrics' text: every family with the exact values the agent, the notifier and the action
// store counted for known events, and the real promtool's verdict on the whole scrape.

#include <atomic>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <planner/agent_testing.hpp>
#include <planner/file_action_store.hpp>
#include <planner/file_sinks.hpp>
#include <planner/notifier.hpp>
#include <planner/plan.hpp>
#include <planner/testing.hpp>
#include <planner/version.hpp>

#include "metrics.hpp"
#include "support/action_store_dirs.hpp"
#include "support/agent_fixture.hpp"
#include "support/gate.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

using namespace planner;
using namespace planner::testing;
using planner::cli::MetricsExporter;
using planner::cli::ReloadCounters;
using namespace std::chrono_literals;

namespace {

/// The model names as a router reports them: one with user info and a password, one with a
/// key in its query. Neither secret may reach a label.
const std::string kOllama = "ollama/qwen2.5:7b@http://admin:hunter2@gpu:11434";
const std::string kOllamaLabel = "ollama/qwen2.5:7b@http://gpu:11434";
const std::string kOpenAi = "openai/gpt-4o-mini@https://api.example/v1?key=sk-secret#frag";
const std::string kOpenAiLabel = "openai/gpt-4o-mini@https://api.example/v1";

/// A scrape: every sample by its series as written (`name{labels}`), and the HELP and TYPE of
/// every family.
struct Scrape {
    std::string text;
    std::map<std::string, double> samples;
    std::map<std::string, std::string> help;
    std::map<std::string, std::string> type;

    explicit Scrape(std::string t) : text(std::move(t)) {
        std::istringstream in(text);
        for (std::string line; std::getline(in, line);) {
            if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
                const auto rest = line.substr(7);
                const auto space = rest.find(' ');
                auto& into = line[2] == 'H' ? help : type;
                into[rest.substr(0, space)] = rest.substr(space + 1);
                continue;
            }
            if (line.empty() || line[0] == '#') continue;
            const auto space = line.rfind(' ');
            REQUIRE(space != std::string::npos);
            samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
        }
    }

    /// The value of `series`; fails the test when there is none.
    double operator[](const std::string& series) const {
        const auto it = samples.find(series);
        INFO(series << " in\n" << text);
        REQUIRE(it != samples.end());
        return it->second;
    }
    bool has(const std::string& series) const { return samples.contains(series); }
};

RouteResult answer_with(std::vector<AttemptRecord> attempts) {
    RouteResult r = make_route_result("restart");
    r.model_used = attempts.back().model;
    r.attempts = std::move(attempts);
    return r;
}

/// Answers by service: mosquitto after a timed-out local model, smartd never (the whole chain
/// fails), anything else from the rules.
RouteResult respond(const RouteRequest& request) {
    const std::string service = request.event ? request.event->service : "";
    if (service == "mosquitto") {
        return answer_with({{kOllama, AttemptStatus::timeout, "timed out", 60'000.0},
                            {kOpenAi, AttemptStatus::success, "", 800.0}});
    }
    if (service == "smartd") {
        throw RouteError("no model gave a valid answer",
                         {{kOllama, AttemptStatus::error, "connection refused", 2.0},
                          {kOpenAi, AttemptStatus::skipped, "cooling down", 0.0}});
    }
    return answer_with({{"rules", AttemptStatus::success, "", 0.3}});
}

/// Answers notification posts by URL: the phone's ntfy takes them, the webhook is down.
class ScriptedTransport final : public HttpTransport {
  public:
    HttpResponse post(const HttpRequest& request) override {
        HttpResponse r;
        r.status = request.url.find("ntfy") != std::string::npos ? 200 : 500;
        return r;
    }
};

NotifyTarget target(NotifyFormat format, std::string url, std::string name) {
    NotifyTarget t;
    t.format = format;
    t.url = std::move(url);
    t.name = std::move(name);
    t.when = NotifyWhen::always;
    return t;
}

/// A proposal as the plan step makes it, pending for a day.
ActionProposal pending_proposal(std::string id, const std::string& service) {
    ActionProposal p = make_proposal(make_health_event("piha", service),
                                     make_route_result("restart", service), HouseRules{});
    p.action_id = std::move(id);
    p.created_at = std::chrono::system_clock::now();
    p.expires_at = p.created_at + 24h;
    return p;
}

/// An ActionStore over a fresh actions directory holding a pending proposal per service.
struct PendingStore {
    TempDir tmp;
    std::unique_ptr<FileActionStore> store;

    explicit PendingStore(const std::vector<std::string>& services) {
        const auto actions = tmp / "actions";
        std::filesystem::create_directories(actions);
        for (std::size_t i = 0; i < services.size(); ++i) {
            FileActionSink(actions, {false})
                .write(pending_proposal("a" + std::to_string(i + 1), services[i]));
        }
        store = std::make_unique<FileActionStore>(action_store_dirs(tmp.path()));
    }
};

/// An agent driven through one of each outcome (see respond()); not started, so the one
/// queued event stays queued.
struct Driven {
    AgentFixture f{FakeRouter::Responder(respond)};

    Driven() {
        auto& a = f.agent;
        CHECK(a.dispatch_text("health_events", "{nope") == IntakeResult::malformed);
        CHECK(a.dispatch_text("health_events", event_json("piha", "agent", "heartbeat")) ==
              IntakeResult::benign);
        CHECK(a.dispatch_text("world_updates", event_json("vps", "proxy")) == IntakeResult::queued);
        CHECK(a.dispatch_text("world_updates", event_json("vps", "proxy")) ==
              IntakeResult::coalesced);
        CHECK(handle_event(a, make_health_event("piha", "mosquitto")) == HandleResult::proposed);
        CHECK(handle_event(a, make_health_event("piha", "mosquitto")) == HandleResult::cooldown);
        CHECK(handle_event(a, make_health_event("nas", "smartd")) == HandleResult::chain_failed);
        f.actions.fail_next(1);
        CHECK(handle_event(a, make_health_event("vps", "observer")) == HandleResult::write_failed);
    }
};

std::string bucket(const std::string& model, const std::string& le) {
    return "planner_model_request_duration_seconds_bucket{model=\"" + model + "\",le=\"" + le +
           "\"}";
}

}  // namespace

TEST_CASE("the agent's families hold exactly what it counted", "[metrics]") {
    Driven d;
    const MetricsExporter metrics({d.f.agent});
    const Scrape s(metrics.scrape());

    CHECK(s["planner_messages_received_total{channel=\"health_events\"}"] == 2);
    CHECK(s["planner_messages_received_total{channel=\"world_updates\"}"] == 2);

    CHECK(s["planner_events_skipped_total{reason=\"malformed\"}"] == 1);
    CHECK(s["planner_events_skipped_total{reason=\"benign\"}"] == 1);
    CHECK(s["planner_events_skipped_total{reason=\"coalesced\"}"] == 1);
    CHECK(s["planner_events_skipped_total{reason=\"cooldown\"}"] == 1);
    for (const char* zero : {"pending", "queue_full", "stopping", "abandoned"}) {
        CHECK(s[std::string("planner_events_skipped_total{reason=\"") + zero + "\"}"] == 0);
    }

    // The observer's proposal was made, then could not be written.
    CHECK(s["planner_proposals_total{action=\"restart\"}"] == 2);
    CHECK(s["planner_chain_failures_total"] == 1);
    CHECK(s["planner_write_failures_total"] == 1);

    const auto requests = [&](const std::string& model, const std::string& status) {
        return s["planner_model_requests_total{model=\"" + model + "\",status=\"" + status + "\"}"];
    };
    CHECK(requests(kOllamaLabel, "timeout") == 1);
    CHECK(requests(kOllamaLabel, "error") == 1);
    CHECK(requests(kOpenAiLabel, "success") == 1);
    CHECK(requests(kOpenAiLabel, "skipped") == 1);
    CHECK(requests("rules", "success") == 1);
    CHECK_FALSE(s.has("planner_model_requests_total{model=\"rules\",status=\"error\"}"));

    // Ollama: 2 ms and 60 s (on a bound: counted in le="60", not in le="45").
    CHECK(s[bucket(kOllamaLabel, "0.05")] == 1);
    CHECK(s[bucket(kOllamaLabel, "45")] == 1);
    CHECK(s[bucket(kOllamaLabel, "60")] == 2);
    CHECK(s[bucket(kOllamaLabel, "120")] == 2);
    CHECK(s[bucket(kOllamaLabel, "+Inf")] == 2);
    CHECK(s["planner_model_request_duration_seconds_count{model=\"" + kOllamaLabel + "\"}"] == 2);
    CHECK(s["planner_model_request_duration_seconds_sum{model=\"" + kOllamaLabel + "\"}"] ==
          Approx(60.002));
    // OpenAI: 0.8 s; its skipped attempt asked nothing and is not timed.
    CHECK(s[bucket(kOpenAiLabel, "0.5")] == 0);
    CHECK(s[bucket(kOpenAiLabel, "1")] == 1);
    CHECK(s[bucket(kOpenAiLabel, "+Inf")] == 1);
    CHECK(s["planner_model_request_duration_seconds_count{model=\"" + kOpenAiLabel + "\"}"] == 1);
    CHECK(s["planner_model_request_duration_seconds_sum{model=\"" + kOpenAiLabel + "\"}"] ==
          Approx(0.8));
    CHECK(s[bucket("rules", "0.05")] == 1);

    // rules.escalate is off here: both kinds exported from the start, at 0.
    CHECK(s["planner_escalations_total{kind=\"proposal\"}"] == 0);
    CHECK(s["planner_escalations_total{kind=\"pending\"}"] == 0);
    CHECK(s.type.at("planner_escalations_total") == "counter");

    CHECK(s["planner_queue_depth"] == 1);
    CHECK(s["planner_in_flight"] == 0);
    CHECK(s["planner_build_info{version=\"" PLANNER_VERSION_STRING "\"}"] == 1);

    // Families without a source are left out rather than made up.
    CHECK_FALSE(s.type.contains("planner_notifications_total"));
    CHECK_FALSE(s.type.contains("planner_pending_proposals"));
    CHECK_FALSE(s.type.contains("planner_redis_connected"));
    CHECK_FALSE(s.type.contains("planner_config_reloads_total"));

    CHECK(s.type.at("planner_model_request_duration_seconds") == "histogram");
    CHECK(s.type.at("planner_model_requests_total") == "counter");
    CHECK(s.type.at("planner_queue_depth") == "gauge");
}

TEST_CASE("a scrape counts nothing itself: two scrapes agree", "[metrics]") {
    Driven d;
    const MetricsExporter metrics({d.f.agent});
    const Scrape first(metrics.scrape());
    const Scrape second(metrics.scrape());
    // Only the process families move between scrapes.
    auto planner_only = [](const Scrape& s) {
        std::map<std::string, double> out;
        for (const auto& [k, v] : s.samples) {
            if (k.rfind("planner_", 0) == 0) out[k] = v;
        }
        return out;
    };
    CHECK(planner_only(first) == planner_only(second));
}

TEST_CASE("no model label holds a password, a user name or a key", "[metrics]") {
    Driven d;
    const MetricsExporter metrics({d.f.agent});
    const auto text = metrics.scrape();
    for (const char* secret : {"hunter2", "admin", "sk-secret", "key=", "frag", "***"}) {
        INFO(secret);
        CHECK(text.find(secret) == std::string::npos);
    }
    // And the exit summary's copy of the attempts is as clean.
    const auto summary = d.f.agent.counters().to_json().dump();
    CHECK(summary.find("hunter2") == std::string::npos);
    CHECK(summary.find("sk-secret") == std::string::npos);
    CHECK(d.f.agent.counters().to_json().at("model_attempts").at(kOllamaLabel).at("timeout") == 1);
}

TEST_CASE("queue depth and in-flight follow the workers", "[metrics]") {
    Gate gate;
    PlannerAgentOptions options;
    options.workers = 1;
    AgentFixture f(
        [&](const std::vector<ChatMessage>&) {
            gate.enter();
            return make_route_result("restart");
        },
        options);
    const MetricsExporter metrics({f.agent});
    f.agent.start();
    f.agent.dispatch_text("health_events", event_json("piha", "mosquitto"));
    REQUIRE(gate.wait_entered(1));
    f.agent.dispatch_text("health_events", event_json("piha", "zigbee2mqtt"));
    const Scrape busy(metrics.scrape());
    CHECK(busy["planner_in_flight"] == 1);
    CHECK(busy["planner_queue_depth"] == 1);
    gate.open();
    REQUIRE(f.agent.wait_idle(10s));
    const Scrape idle(metrics.scrape());
    CHECK(idle["planner_in_flight"] == 0);
    CHECK(idle["planner_queue_depth"] == 0);
    CHECK(idle["planner_proposals_total{action=\"restart\"}"] == 2);
}

TEST_CASE("notifications by target and outcome", "[metrics]") {
    AgentFixture f(make_route_result());
    RecordingLogSink log;
    NotifierOptions no;
    no.targets = {target(NotifyFormat::ntfy, "https://ntfy.example/planner", "phone"),
                  target(NotifyFormat::webhook, "https://hooks.example/x?token=abc", "")};
    no.queue_capacity = 2;
    no.max_tries = 2;
    no.sleep = [](std::chrono::milliseconds) {};
    Notifier notifier(no, std::make_shared<ScriptedTransport>(), log);
    const MetricsExporter metrics({.agent = f.agent, .notifier = &notifier});

    // Every target is there before its first delivery.
    const Scrape before(metrics.scrape());
    CHECK(before["planner_notifications_total{target=\"phone\",status=\"sent\"}"] == 0);
    CHECK(before["planner_notifications_total{target=\"webhook#2\",status=\"failed\"}"] == 0);

    const auto p = pending_proposal("a1", "mosquitto");
    CHECK(notifier.notify(p) == 2);
    CHECK(notifier.notify(p) == 0);  // the queue is full: both dropped
    notifier.start();
    REQUIRE(notifier.wait_idle(10s));

    const Scrape s(metrics.scrape());
    CHECK(s["planner_notifications_total{target=\"phone\",status=\"sent\"}"] == 1);
    CHECK(s["planner_notifications_total{target=\"phone\",status=\"failed\"}"] == 0);
    CHECK(s["planner_notifications_total{target=\"phone\",status=\"dropped\"}"] == 1);
    CHECK(s["planner_notifications_total{target=\"webhook#2\",status=\"sent\"}"] == 0);
    CHECK(s["planner_notifications_total{target=\"webhook#2\",status=\"failed\"}"] == 1);
    CHECK(s["planner_notifications_total{target=\"webhook#2\",status=\"dropped\"}"] == 1);
    CHECK(s.text.find("hooks.example") == std::string::npos);
    CHECK(s.text.find("token") == std::string::npos);

    const auto c = notifier.counters();
    CHECK(c.sent == 1);
    CHECK(c.failed == 1);
    CHECK(c.dropped == 2);
    CHECK(c.retries == 1);
    CHECK(c.targets.at("webhook#2").retries == 1);
    notifier.stop();
}

TEST_CASE("pending proposals, Redis, reloads, build and process", "[metrics]") {
    AgentFixture f(make_route_result());
    PendingStore pending({"mosquitto", "zigbee2mqtt"});
    std::atomic<bool> redis{false};
    ReloadCounters reloads;
    const MetricsExporter metrics({f.agent, pending.store.get(), nullptr, &redis, &reloads});

    const Scrape before(metrics.scrape());
    CHECK(before["planner_pending_proposals"] == 2);
    CHECK(before["planner_redis_connected"] == 0);
    CHECK(before["planner_config_reloads_total{result=\"success\"}"] == 0);
    CHECK(before["planner_config_reloads_total{result=\"failure\"}"] == 0);

    pending.store->approve("a1", "alice", "");
    redis = true;
    reloads.succeeded += 3;
    reloads.failed += 1;
    const Scrape after(metrics.scrape());
    CHECK(after["planner_pending_proposals"] == 1);
    CHECK(after["planner_redis_connected"] == 1);
    CHECK(after["planner_config_reloads_total{result=\"success\"}"] == 3);
    CHECK(after["planner_config_reloads_total{result=\"failure\"}"] == 1);

    CHECK(after["process_resident_memory_bytes"] > 1024 * 1024);
    CHECK(after["process_open_fds"] >= 3);
    // Clock ticks (10 ms) against clock()'s finer count of the same CPU time.
    const double cpu = static_cast<double>(std::clock()) / CLOCKS_PER_SEC;
    CHECK(after["process_cpu_seconds_total"] == Approx(cpu).margin(0.1));
    const double now =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    CHECK(after["process_start_time_seconds"] <= now + 1);
    CHECK(after["process_start_time_seconds"] > now - 24 * 3600);

    // Every family says what it is.
    for (const auto& [name, type] : after.type) {
        INFO(name);
        CHECK(after.help.contains(name));
        CHECK_FALSE(after.help.at(name).empty());
    }
    for (const char* name :
         {"planner_messages_received_total", "planner_events_skipped_total",
          "planner_proposals_total", "planner_model_requests_total",
          "planner_model_request_duration_seconds", "planner_chain_failures_total",
          "planner_write_failures_total", "planner_queue_depth", "planner_in_flight",
          "planner_pending_proposals", "planner_redis_connected", "planner_config_reloads_total",
          "planner_build_info", "process_resident_memory_bytes", "process_cpu_seconds_total",
          "process_start_time_seconds", "process_open_fds"}) {
        INFO(name);
        CHECK(after.type.contains(name));
    }
}

TEST_CASE("promtool check metrics accepts a full scrape", "[metrics]") {
    const std::string promtool = PLANNER_PROMTOOL;
    if (promtool.empty()) {
        WARN(
            "SKIP: promtool not found at configure time (Debian package prometheus); the "
            "scrape was not linted");
        return;
    }
    Driven d;
    PendingStore pending({"mosquitto"});
    RecordingLogSink log;
    NotifierOptions no;
    no.targets = {target(NotifyFormat::ntfy, "https://ntfy.example/planner", "phone")};
    Notifier notifier(no, std::make_shared<ScriptedTransport>(), log);
    std::atomic<bool> redis{true};
    ReloadCounters reloads;
    const MetricsExporter metrics({d.f.agent, pending.store.get(), &notifier, &redis, &reloads});

    TempDir tmp;
    const auto scraped = tmp / "metrics.txt";
    {
        std::ofstream out(scraped);
        out << metrics.scrape();
    }
    Process check({.argv = {promtool, "check", "metrics"},
                   .stdin_stream = scraped,
                   .stdout_stream = tmp / "stdout",
                   .stderr_stream = tmp / "stderr"});
    const auto rc = check.wait(30s);
    const auto said = read_text(tmp / "stdout") + read_text(tmp / "stderr");
    INFO(said);
    INFO(read_text(scraped));
    REQUIRE(rc.has_value());
    CHECK(*rc == 0);
    CHECK(said.empty());
}

TEST_CASE("model labels stay bounded whatever names a router invents", "[metrics]") {
    std::vector<AttemptRecord> attempts;
    for (int i = 0; i < 40; ++i) {
        attempts.push_back({"custom/model-" + std::to_string(i), AttemptStatus::error, "", 1.0});
    }
    attempts.push_back({"rules", AttemptStatus::success, "", 1.0});
    AgentFixture f(answer_with(attempts));
    CHECK(handle_event(f.agent, make_health_event()) == HandleResult::proposed);
    const MetricsExporter metrics({f.agent});
    const Scrape s(metrics.scrape());
    std::size_t named = 0;
    for (const auto& [series, value] : s.samples) {
        if (series.rfind("planner_model_requests_total{model=\"custom/", 0) == 0) ++named;
    }
    CHECK(named == 32);
    CHECK(s["planner_model_requests_total{model=\"(other)\",status=\"error\"}"] == 8);
    CHECK(s["planner_model_requests_total{model=\"(other)\",status=\"success\"}"] == 1);
    CHECK(s["planner_model_request_duration_seconds_count{model=\"(other)\"}"] == 9);
}
