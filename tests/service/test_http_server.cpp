// The HTTP listener in-process with injected hooks (metrics, health, readiness), its auth
// helpers with a ManualClock, and the proposals API over a real ActionStore in a TempDir.

#ifdef PLANNER_HAS_CLI

#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <mutex>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <planner/clock.hpp>
#include <planner/file_action_store.hpp>
#include <planner/testing.hpp>

#include "http_auth.hpp"
#include "http_page.hpp"
#include "http_server.hpp"
#include "support/action_store_dirs.hpp"
#include "support/temp_dir.hpp"

using planner::testing::as_json;

using namespace planner;
using namespace planner::cli;
using namespace planner::testing;
using namespace std::chrono_literals;

namespace {

nlohmann::json pending_file(const std::string& id) {
    return {{"action_id", id},
            {"status", "pending"},
            {"node", "piha"},
            {"service", "mosquitto"},
            {"type", "container_restart"},
            {"risk_level", "low"},
            {"requires_human", true},
            {"confidence", 0.6},
            {"timestamp", "2026-11-29T07:00:00.000Z"},
            {"expires_at", "2999-01-01T00:00:00.000Z"},
            {"payload", {{"action", "restart"}, {"reason", "<b>broker</b> down"}}}};
}

}  // namespace

TEST_CASE("constant_time_equal and bearer_token", "[http]") {
    CHECK(constant_time_equal("s3cret", "s3cret"));
    CHECK_FALSE(constant_time_equal("s3cre", "s3cret"));
    CHECK_FALSE(constant_time_equal("s3cretX", "s3cret"));
    CHECK_FALSE(constant_time_equal("", "s3cret"));
    CHECK_FALSE(constant_time_equal("S3cret", "s3cret"));
    CHECK(bearer_token("Bearer abc") == std::optional<std::string_view>("abc"));
    CHECK(bearer_token("bearer  abc ") == std::optional<std::string_view>("abc"));
    CHECK_FALSE(bearer_token("Basic abc"));
    CHECK_FALSE(bearer_token("Bearer "));
    CHECK_FALSE(bearer_token(""));
}

TEST_CASE("AuthLimiter: five failures a minute per address, then refused", "[http]") {
    ManualClock clock;
    AuthLimiter limiter(AuthLimiterOptions{5, 60s, 2}, clock.steady_source());
    for (std::size_t i = 1; i <= 4; ++i) CHECK(limiter.fail("10.0.0.1") == i);
    CHECK_FALSE(limiter.limited("10.0.0.1"));
    CHECK(limiter.fail("10.0.0.1") == 5);
    CHECK(limiter.limited("10.0.0.1"));
    CHECK_FALSE(limiter.limited("10.0.0.2"));  // per address
    clock.advance(59s);
    CHECK(limiter.limited("10.0.0.1"));
    clock.advance(1s);
    CHECK_FALSE(limiter.limited("10.0.0.1"));  // the window slid past them
    // Bounded memory (two addresses here): a third pushes out the one that failed longest ago.
    for (int i = 0; i < 5; ++i) limiter.fail("10.0.0.2");
    CHECK(limiter.limited("10.0.0.2"));
    clock.advance(1s);
    limiter.fail("10.0.0.3");
    clock.advance(1s);
    limiter.fail("10.0.0.4");
    CHECK_FALSE(limiter.limited("10.0.0.2"));
    CHECK(limiter.fail("10.0.0.3") == 2);
}

TEST_CASE("the listener serves injected metrics, health and readiness", "[http]") {
    RecordingLogSink log;
    // Read on the server's threads: a mutex, as the planner's own hooks have.
    std::mutex mutex;
    std::optional<std::string> health_problem;
    std::optional<std::string> ready_problem = "not subscribed to Redis";
    const auto set = [&](std::optional<std::string>& which, std::optional<std::string> v) {
        const std::lock_guard lock(mutex);
        which = std::move(v);
    };
    HttpServerOptions o;
    o.metrics = [] { return std::string("planner_up 1\n"); };
    o.health = [&] {
        const std::lock_guard lock(mutex);
        return health_problem;
    };
    o.ready = [&] {
        const std::lock_guard lock(mutex);
        return ready_problem;
    };
    HttpServer server(o, log);
    const int port = server.start();
    REQUIRE(port > 0);
    REQUIRE(log.count("http_listening") == 1);
    CHECK(log.lines("http_listening")[0].fields["port"] == port);
    httplib::Client c("127.0.0.1", port);

    auto r = c.Get("/metrics");
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->body == "planner_up 1\n");
    CHECK(r->get_header_value("Content-Type") == "text/plain; version=0.0.4; charset=utf-8");

    r = c.Get("/healthz");
    REQUIRE(r);
    CHECK(r->status == 200);
    set(health_problem, "a worker is wedged");
    r = c.Get("/healthz");
    REQUIRE(r);
    CHECK(r->status == 503);
    CHECK(nlohmann::json::parse(r->body)["reason"] == "a worker is wedged");

    r = c.Get("/readyz");
    REQUIRE(r);
    CHECK(r->status == 503);
    CHECK(nlohmann::json::parse(r->body)["reason"] == "not subscribed to Redis");
    set(ready_problem, std::nullopt);
    r = c.Get("/readyz");
    REQUIRE(r);
    CHECK(r->status == 200);

    // No store (--dry-run): the API says why instead of pretending there is nothing.
    r = c.Get("/api/v1/proposals");
    REQUIRE(r);
    CHECK(r->status == 503);
    r = c.Get("/nope");
    REQUIRE(r);
    CHECK(r->status == 404);
    CHECK(nlohmann::json::parse(r->body)["error"] == "not found");
    server.stop();
    CHECK_FALSE(c.Get("/healthz"));
}

TEST_CASE(
    "the approval page: no external assets, its own script and style by hash, no metrics hook",
    "[http]") {
    const auto& page = approval_page();
    CHECK_THAT(page.html, Catch::Contains("name=\"viewport\""));
    CHECK(page.html.find("innerHTML") == std::string::npos);
    CHECK(page.html.find("src=\"http") == std::string::npos);
    CHECK(page.html.find("href=\"http") == std::string::npos);
    CHECK_THAT(page.content_security_policy, Catch::StartsWith("default-src 'self'; script-src "
                                                               "'sha256-"));
    CHECK_THAT(page.content_security_policy, Catch::Contains("frame-ancestors 'none'"));

    NullLogSink log;
    HttpServer server(HttpServerOptions{}, log);
    httplib::Client c("127.0.0.1", server.start());
    const auto r = c.Get("/");
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->get_header_value("Content-Type") == "text/html; charset=utf-8");
    CHECK(r->get_header_value("Content-Security-Policy") == page.content_security_policy);
    CHECK(r->get_header_value("X-Content-Type-Options") == "nosniff");
    CHECK(r->body == page.html);
    // Without a metrics hook: 404, not an empty 200 a scraper would take for no metrics.
    const auto m = c.Get("/metrics");
    REQUIRE(m);
    CHECK(m->status == 404);
}

TEST_CASE("the listener planner-run builds for --http-listen serves until stopped", "[http]") {
    NullLogSink log;
    HttpServer listener(HttpServerOptions{}, log);
    httplib::Client c("127.0.0.1", listener.start());
    const auto r = c.Get("/healthz");
    REQUIRE(r);
    CHECK(r->status == 200);
    listener.stop();
    CHECK_FALSE(c.Get("/healthz"));
}

TEST_CASE("the proposals API through an ActionStore: read-only without a token", "[http]") {
    TempDir tmp;
    std::filesystem::create_directories(tmp / "actions");
    write_text(tmp / "actions" / "plan-a.json", pending_file("plan-a").dump());
    FileActionStore store(action_store_dirs(tmp.path()));
    RecordingLogSink log;
    HttpServerOptions o;
    o.store = &store;
    HttpServer server(o, log);
    httplib::Client c("127.0.0.1", server.start());

    auto r = c.Get("/api/v1/proposals?status=pending");
    REQUIRE(r);
    CHECK(r->status == 200);
    const auto body = nlohmann::json::parse(r->body);
    REQUIRE(body["proposals"].size() == 1);
    CHECK(body["proposals"][0]["payload"]["reason"] == "<b>broker</b> down");
    r = c.Get("/api/v1/proposals?status=approved");
    REQUIRE(r);
    CHECK(nlohmann::json::parse(r->body)["proposals"].empty());
    r = c.Get("/api/v1/proposals?status=bogus");
    REQUIRE(r);
    CHECK(r->status == 400);

    r = c.Post("/api/v1/proposals/plan-a/approve", {{"Authorization", "Bearer x"}},
               R"({"by":"alice"})", "application/json");
    REQUIRE(r);
    CHECK(r->status == 403);
    CHECK_THAT(nlohmann::json::parse(r->body)["error"].get<std::string>(),
               Catch::Contains("read-only"));
    CHECK(as_json(store.read("plan-a"))->at("status") == "pending");
}

#endif  // PLANNER_HAS_CLI
