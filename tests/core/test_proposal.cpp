#include <catch2/catch.hpp>

#include <planner/proposal.hpp>

using planner::ActionProposal;

namespace {
ActionProposal sample() {
    ActionProposal p;
    p.action_id = "plan-piha-mosquitto-123";
    p.type = "container_restart";
    p.action = "restart";
    p.service = "mosquitto";
    p.node = "piha";
    p.reason = "Container stopped unexpectedly";
    p.confidence = 0.9;
    p.requires_human = false;
    p.risk_level = "low";
    p.created_at = std::chrono::system_clock::time_point{std::chrono::seconds{1'779'883'200}};
    return p;
}
}  // namespace

TEST_CASE("to action file keys", "[proposal]") {
    const auto d = sample().to_action_file();
    for (auto key :
         {"action_id", "type", "node", "service", "risk_level", "confidence", "requires_human",
          "status", "timestamp", "source_event", "llm_model", "llm_attempts", "payload"}) {
        INFO("missing key: " << key);
        CHECK(d.contains(key));
    }
}

TEST_CASE("to action file has exactly the executor's keys", "[proposal]") {
    const auto d = sample().to_action_file();
    std::vector<std::string> keys;
    for (const auto& [k, v] : d.items()) keys.push_back(k);
    std::sort(keys.begin(), keys.end());
    CHECK(keys == std::vector<std::string>{"action_id", "confidence", "description", "llm_attempts",
                                           "llm_model", "node", "payload", "requires_human",
                                           "risk_level", "service", "source_event", "status",
                                           "timestamp", "type"});
    CHECK(d["payload"].size() == 2);
}

TEST_CASE("status pending", "[proposal]") {
    CHECK(sample().to_action_file()["status"] == "pending");
}

TEST_CASE("payload contains action and reason", "[proposal]") {
    const auto d = sample().to_action_file();
    CHECK(d["payload"]["action"] == "restart");
    CHECK_THAT(d["payload"]["reason"].get<std::string>(), Catch::Contains("Container stopped"));
}

TEST_CASE("description fallback to reason", "[proposal]") {
    auto p = sample();
    p.description = "";
    CHECK(p.to_action_file()["description"] == p.reason);
    p.description = "Restart mosquitto on piha";
    CHECK(p.to_action_file()["description"] == "Restart mosquitto on piha");
}

TEST_CASE("timestamp is ISO-8601 UTC", "[proposal]") {
    CHECK(sample().to_action_file()["timestamp"] == "2026-05-27T12:00:00.000Z");
}

TEST_CASE("values are carried with their JSON types", "[proposal]") {
    auto p = sample();
    p.llm_model = "ollama/qwen2.5:7b";
    p.llm_attempts = 2;
    p.source_event = "service_unhealthy";
    const auto d = p.to_action_file();
    CHECK(d["confidence"] == 0.9);
    CHECK(d["requires_human"] == false);
    CHECK(d["llm_attempts"] == 2);
    CHECK(d["llm_model"] == "ollama/qwen2.5:7b");
    CHECK(d["source_event"] == "service_unhealthy");
}

TEST_CASE("policy corrections are shown to the human in the description", "[proposal]") {
    auto p = sample();
    p.policy_corrections = {"requires_human forced: node 'chelsty-infra' always needs a human"};
    const auto d = p.to_action_file();
    CHECK_THAT(d["description"].get<std::string>(),
               Catch::StartsWith(p.reason) && Catch::Contains("[policy: requires_human forced"));
    CHECK(d["payload"]["reason"] == p.reason);
}

TEST_CASE("a default proposal requires a human", "[proposal]") {
    CHECK(ActionProposal{}.requires_human);
}
