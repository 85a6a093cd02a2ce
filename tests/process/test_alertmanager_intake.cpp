// Alertmanager as an intake, end to end: a real prometheus-alertmanager whose webhook receiver
// is a real planner-run's HTTP listener, an alert posted to Alertmanager's API as Prometheus
// would, and the proposal file it becomes. Plus the refusals Alertmanager must see as such.

#ifdef PLANNER_RUN_PATH

#include <httplib.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "support/alertmanager_server.hpp"
#include "support/listening_planner.hpp"
#include "support/planner_run_process.hpp"
#include "support/redis_server.hpp"
#include "support/temp_dir.hpp"

using namespace planner::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const std::string kAlertToken = "am_receiver_secret_77c1";

/// planner-run with the listener on a free port and an Alertmanager receiver token.
struct AlertPlanner {
    explicit AlertPlanner(const std::vector<std::string>& extra = {})
        : run(PLANNER_RUN_PATH, tmp, args(tmp, redis, extra)), port(logged_http_port(run)) {}

    static std::vector<std::string> args(const TempDir& tmp, const RedisServer& redis,
                                         const std::vector<std::string>& extra) {
        write_text(tmp / "am.token", kAlertToken + "\n");
        write_text(tmp / "planner.yaml",
                   "topology:\n  nodes:\n    piha:\n      services:\n        mosquitto: {}\n"
                   "models:\n  - spec: rules\n"
                   "alertmanager:\n  token_file: " +
                       (tmp / "am.token").string() + "\n");
        return listening_planner_args(tmp, redis, tmp / "planner.yaml", extra);
    }

    std::string webhook() const {
        return "http://127.0.0.1:" + std::to_string(port) + "/api/v1/alerts/alertmanager";
    }

    httplib::Result post(const std::string& body, const std::string& token = kAlertToken) const {
        httplib::Client c("127.0.0.1", port);
        c.set_read_timeout(10s);
        httplib::Headers h;
        if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
        return c.Post("/api/v1/alerts/alertmanager", h, body, "application/json");
    }

    std::vector<json> proposals() const {
        std::vector<json> out;
        for (const auto& f : files_under(tmp / "actions")) {
            if (f.extension() != ".json" || f.filename().string().starts_with(".")) continue;
            auto j = json::parse(read_text(f), nullptr, false);
            if (!j.is_discarded()) out.push_back(std::move(j));
        }
        return out;
    }

    TempDir tmp;
    RedisServer redis;
    PlannerRunProcess run;
    int port = 0;
};

json firing(const std::string& instance, const std::string& service) {
    return {{"labels",
             {{"alertname", "ContainerDown"},
              {"instance", instance},
              {"service", service},
              {"severity", "critical"}}},
            {"annotations", {{"summary", service + " is down"}}}};
}

}  // namespace

TEST_CASE("alertmanager: an alert posted to a real Alertmanager becomes a proposal",
          "[alertmanager][http][redis]") {
    if (alertmanager_binary().empty()) {
        WARN("SKIP: prometheus-alertmanager is not installed (scripts/install-deps installs it)");
        return;
    }
    AlertPlanner p;
    AlertmanagerServer am({.webhook_url = p.webhook(), .bearer_token = kAlertToken});
    REQUIRE(am.post_alerts(json::array({firing("piha:9100", "mosquitto")})));

    REQUIRE(eventually([&] { return p.proposals().size() == 1; }, 30s));
    const auto proposal = p.proposals().front();
    CHECK(proposal["node"] == "piha");
    CHECK(proposal["service"] == "mosquitto");
    INFO(proposal.dump());
    CHECK(proposal["source_event"].get<std::string>().find("ContainerDown") != std::string::npos);
    CHECK(p.run.count_log("http_auth_failed") == 0);
    INFO(am.log_text());
    CHECK(am.log_text().find("Notify for alerts failed") == std::string::npos);
}

TEST_CASE("alertmanager: what the receiver refuses, and why Alertmanager would not retry",
          "[alertmanager][http][redis]") {
    AlertPlanner p;
    const json alert = {
        {"status", "firing"},
        {"labels", {{"alertname", "DiskFull"}, {"instance", "piha:9100"}, {"job", "node"}}},
        {"annotations", json::object()},
        {"startsAt", "2026-11-29T10:00:00Z"}};
    const auto body = [&](json alerts) {
        return json{{"version", "4"}, {"status", "firing"}, {"alerts", std::move(alerts)}}.dump();
    };

    // Without the token, or with another: 401, logged without it, nothing planned.
    const auto anonymous = p.post(body(json::array({alert})), "");
    REQUIRE(anonymous);
    CHECK(anonymous->status == 401);
    const auto wrong = p.post(body(json::array({alert})), "am_guess");
    REQUIRE(wrong);
    CHECK(wrong->status == 401);
    CHECK(p.run.count_log("http_auth_failed") == 2);
    CHECK(p.run.stderr_text().find("am_guess") == std::string::npos);

    // Not Alertmanager's payload: 400 with the reason (Alertmanager does not retry a 4xx).
    for (const std::string& bad : {std::string("{not json"), std::string(R"({"alerts": []})"),
                                   std::string(R"({"version": "4", "alerts": 7})")}) {
        const auto r = p.post(bad);
        REQUIRE(r);
        INFO(bad << " -> " << r->body);
        CHECK(r->status == 400);
        CHECK(json::parse(r->body).contains("error"));
    }
    CHECK(p.run.count_log("alertmanager_refused") == 3);

    // One alert without a node is dropped with a reason; the good one is accepted.
    json nameless = alert;
    nameless["labels"].erase("instance");
    const auto mixed = p.post(body(json::array({nameless, alert})));
    REQUIRE(mixed);
    CHECK(mixed->status == 200);
    const auto answer = json::parse(mixed->body);
    CHECK(answer["accepted"] == 1);
    CHECK(answer["rejected"].size() == 1);
    CHECK(p.run.count_log("alertmanager_alert_rejected") == 1);
    REQUIRE(eventually([&] { return p.proposals().size() == 1; }));
    CHECK(p.proposals().front()["service"] == "node");

    // The same alert again: its proposal is still pending, so nothing new, as from Redis.
    REQUIRE(p.post(body(json::array({alert})))->status == 200);
    // Resolved: benign, never planned.
    json resolved = alert;
    resolved["status"] = "resolved";
    resolved["labels"]["job"] = "other";
    REQUIRE(p.post(body(json::array({resolved})))->status == 200);
    REQUIRE(eventually([&] { return p.run.count_log("skip_benign") == 1; }));
    CHECK(p.proposals().size() == 1);
    p.run.process().signal(SIGTERM);
    REQUIRE(p.run.wait(20s) == 0);
    const auto summary = p.run.log_lines().back();
    CHECK(summary["event"] == "planner_stopped");
    CHECK(summary["received"]["alertmanager"] == 3);
}

TEST_CASE("alertmanager: with the Streams intake, 200 means Redis has the entry",
          "[alertmanager][http][streams]") {
    AlertPlanner p({"--intake", "streams"});
    const auto body = json{{"version", "4"},
                           {"status", "firing"},
                           {"alerts", json::array({firing("piha:9100", "mosquitto")})}}
                          .dump();
    REQUIRE(eventually([&] { return p.run.count_log("redis_state", "state", "subscribed") >= 1; }));
    const auto ok = p.post(body);
    REQUIRE(ok);
    CHECK(ok->status == 200);
    // In the stream before the answer: a planner killed now would still plan it on restart.
    auto c = p.redis.connect();
    REQUIRE(c);
    auto* len = static_cast<redisReply*>(redisCommand(c.get(), "XLEN health_events"));
    REQUIRE(len != nullptr);
    CHECK(len->integer >= 1);
    freeReplyObject(len);
    REQUIRE(eventually([&] { return p.proposals().size() == 1; }));
    CHECK(p.proposals().front()["service"] == "mosquitto");

    // Redis gone: not stored, so 503 and Alertmanager retries; the planner lives.
    p.redis.stop();
    const auto refused = p.post(body);
    REQUIRE(refused);
    CHECK(refused->status == 503);
    CHECK(p.run.count_log("alertmanager_not_stored") == 1);
    CHECK(p.run.process().running());
}

#endif  // PLANNER_RUN_PATH
