// The agent behind a real redis-server: messages published with hiredis, files checked on disk.

#include <atomic>
#include <thread>

#include <catch2/catch.hpp>

#include <planner/file_sinks.hpp>
#include <planner/redis_subscriber.hpp>

#include "support/agent_fixture.hpp"
#include "support/redis_server.hpp"
#include "support/temp_dir.hpp"

using namespace planner;
using namespace planner::testing;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::vector<fs::path> json_files(const fs::path& root) {
    std::vector<fs::path> out;
    if (!fs::exists(root)) return out;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
        if (e.is_regular_file() && e.path().extension() == ".json") out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

/// redis-server, file sinks in a temp dir, a fake router, the agent and a subscriber thread.
class RedisIntake {
  public:
    explicit RedisIntake(FakeRouter::Responder respond, PlannerAgentOptions options = {})
        : router_(std::move(respond)),
          actions_(tmp_ / "actions"),
          events_(tmp_ / "events", [] { return std::string("solaria"); }),
          agent_(std::move(options),
                 {.router = router_, .actions = actions_, .events = events_, .log = log_}) {
        agent_.start();
        RedisSubscriberOptions so;
        so.url = parse_redis_url(redis_.url());
        so.reconnect_max = 200ms;
        subscriber_ = std::thread([this, so] {
            RedisSubscriber sub(
                so,
                [this](std::string_view channel, std::string_view data) {
                    agent_.dispatch_text(channel, data);
                },
                [this](RedisState state, std::string_view) {
                    log_.log(LogLevel::info, "redis_state", {{"state", to_string(state)}});
                });
            sub.run(stop_);
        });
    }
    ~RedisIntake() {
        stop_ = true;
        subscriber_.join();
        agent_.stop();
    }
    RedisIntake(const RedisIntake&) = delete;
    RedisIntake& operator=(const RedisIntake&) = delete;

    bool subscribed() {
        return eventually([this] { return redis_.subscribers("health_events") == 1; });
    }

    /// Publishes and waits until the agent has received the message and finished with it.
    bool send(const std::string& message, const std::string& channel = "health_events") {
        const auto before = agent_.counters().received_total();
        if (redis_.publish(channel, message) != 1) return false;
        return eventually([&] { return agent_.counters().received_total() > before; }) &&
               agent_.wait_idle(15s);
    }

    std::vector<fs::path> action_files() const { return json_files(tmp_ / "actions"); }
    std::vector<fs::path> event_files() const { return json_files(tmp_ / "events"); }

    RedisServer& redis() { return redis_; }
    PlannerAgent& agent() { return agent_; }
    FakeRouter& router() { return router_; }
    RecordingLogSink& log() { return log_; }

  private:
    RedisServer redis_;
    TempDir tmp_;
    FakeRouter router_;
    FileActionSink actions_;
    FileEventSink events_;
    RecordingLogSink log_;
    PlannerAgent agent_;
    std::atomic<bool> stop_{false};
    std::thread subscriber_;
};

FakeRouter::Responder answer(RouteResult result) {
    return [result](const std::vector<ChatMessage>&) { return result; };
}

}  // namespace

TEST_CASE("redis: a proposal end to end with a fake router", "[redis]") {
    RedisIntake f(answer(make_route_result("restart")));
    REQUIRE(f.subscribed());
    REQUIRE(f.send(event_json("piha", "mosquitto")));
    const auto actions = f.action_files();
    REQUIRE(actions.size() == 1);
    const auto action = nlohmann::json::parse(read_text(actions[0]));
    CHECK(actions[0].filename().string() == action["action_id"].get<std::string>() + ".json");
    CHECK(action["type"] == "container_restart");
    CHECK(action["node"] == "piha");
    CHECK(action["status"] == "pending");
    const auto events = f.event_files();
    REQUIRE(events.size() == 1);
    const auto event = nlohmann::json::parse(read_text(events[0]));
    CHECK(event["type"] == "remediation_started");
    CHECK(event["node"] == "solaria");
    CHECK(event["correlation_id"] == action["action_id"]);
    CHECK(events[0].parent_path().filename() == "solaria");
}

TEST_CASE("redis: the world_updates shape is planned too", "[redis]") {
    RedisIntake f(answer(make_route_result("notify", "observer", "vps")));
    REQUIRE(f.subscribed());
    const auto msg = nlohmann::json{{"event_type", "cert_expiring"},
                                    {"node", "vps"},
                                    {"service", "observer"},
                                    {"timestamp", "2026-05-27T12:00:00Z"}};
    REQUIRE(f.send(msg.dump(), "world_updates"));
    CHECK(f.action_files().size() == 1);
    CHECK(f.agent().counters().received.at("world_updates") == 1);
}

TEST_CASE("redis: cooldown across two events", "[redis]") {
    RedisIntake f(answer(make_route_result("restart")));
    REQUIRE(f.subscribed());
    REQUIRE(f.send(event_json()));
    REQUIRE(f.send(event_json()));
    CHECK(f.action_files().size() == 1);
    CHECK(f.router().call_count() == 1);
    CHECK(f.agent().counters().cooldown == 1);
}

TEST_CASE("redis: ignore writes nothing and still cools down", "[redis]") {
    RedisIntake f(answer(make_route_result("ignore")));
    REQUIRE(f.subscribed());
    REQUIRE(f.send(event_json()));
    REQUIRE(f.send(event_json()));
    CHECK(f.action_files().empty());
    CHECK(f.event_files().empty());
    CHECK(f.router().call_count() == 1);
}

TEST_CASE("redis: a chain failure writes nothing and the next event retries", "[redis]") {
    std::atomic<int> calls{0};
    RedisIntake f([&](const std::vector<ChatMessage>&) {
        if (calls.fetch_add(1) == 0) throw RouteError("all models failed", {});
        return make_route_result("restart");
    });
    REQUIRE(f.subscribed());
    REQUIRE(f.send(event_json()));
    CHECK(f.action_files().empty());
    REQUIRE(f.send(event_json()));
    CHECK(f.action_files().size() == 1);
    CHECK(f.agent().counters().chain_failures == 1);
}

TEST_CASE("redis: benign and malformed messages are skipped", "[redis]") {
    RedisIntake f(answer(make_route_result("restart")));
    REQUIRE(f.subscribed());
    REQUIRE(f.send(event_json("piha", "mosquitto", "service_healthy")));
    REQUIRE(f.send("{not json"));
    REQUIRE(f.send("[1,2,3]"));
    REQUIRE(f.send(R"({"type":"service_unhealthy","service":"mosquitto"})"));
    REQUIRE(f.send(std::string(100'000, '[')));
    CHECK(f.router().call_count() == 0);
    CHECK(f.action_files().empty());
    const auto c = f.agent().counters();
    CHECK(c.benign == 1);
    CHECK(c.malformed == 4);
}

TEST_CASE("redis: restarting redis-server mid-test, the next event is handled", "[redis]") {
    RedisIntake f(answer(make_route_result("restart")));
    REQUIRE(f.subscribed());
    REQUIRE(f.send(event_json("piha", "a")));
    f.redis().stop();
    f.redis().start();
    REQUIRE(f.subscribed());  // the subscriber reconnected and resubscribed by itself
    REQUIRE(f.send(event_json("piha", "b")));
    CHECK(f.action_files().size() == 2);
    const auto lines = f.log().lines();
    const auto disconnects = std::count_if(lines.begin(), lines.end(), [](const LogLine& l) {
        return l.event == "redis_state" && l.fields["state"] == "disconnected";
    });
    CHECK(disconnects >= 1);
}

TEST_CASE("redis: an event storm is coalesced to one route per key", "[redis]") {
    Gate gate;
    RedisIntake f([&](const std::vector<ChatMessage>&) {
        gate.enter();
        return make_route_result("restart");
    });
    REQUIRE(f.subscribed());
    std::vector<std::string> storm;
    for (int i = 0; i < 10'000; ++i)
        storm.push_back(event_json("piha", "svc-" + std::to_string(i % 50)));
    REQUIRE(f.redis().publish_many("health_events", storm) == storm.size());
    REQUIRE(eventually([&] { return f.agent().counters().received_total() == 10'000; }, 60s));
    gate.open();
    REQUIRE(f.agent().wait_idle(60s));
    CHECK(f.router().call_count() == 50);
    CHECK(f.action_files().size() == 50);
    CHECK(f.agent().counters().coalesced + f.agent().counters().cooldown == 9'950);
}
