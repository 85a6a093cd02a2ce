/// What the Anthropic entry sends (one forced tool whose input schema is the schema) and how it
/// reads the tool_use block.

#include <catch2/catch.hpp>

#include <chrono>

#include <planner/planner.hpp>

#include "support/provider_server.hpp"
#include "support/router_harness.hpp"
#include "support/wire_formats.hpp"

using namespace std::chrono_literals;
using planner::testing::AnthropicWire;
using planner::testing::attempt_list;
using planner::testing::ProviderServer;
using planner::testing::valid_proposal;

namespace {

planner::ChainRouterOptions options_for(std::vector<planner::ModelEntry> models,
                                        const std::string& url,
                                        std::string key = AnthropicWire::kKey) {
    planner::ChainRouterOptions options;
    options.models = std::move(models);
    options.endpoints.anthropic_base_url = url;
    options.endpoints.anthropic_api_key = std::move(key);
    options.attempt_timeout = 2s;
    options.max_retries = 0;
    options.sleep = [](std::chrono::milliseconds) {};
    return options;
}

}  // namespace

TEST_CASE("anthropic gets x-api-key, the version, a top-level system and one forced tool",
          "[anthropic]") {
    ProviderServer server;
    server.script({AnthropicWire::answer(valid_proposal().dump())});
    auto options = options_for({"anthropic/claude-3-5-haiku-latest"}, server.url());
    options.max_output_tokens = 700;
    const auto messages = planner::testing::event_messages();
    const auto r = planner::make_chain_router(options)->route(messages, planner::proposal_schema());
    CHECK(r.content == valid_proposal());
    CHECK(nlohmann::json::parse(r.raw_text) == valid_proposal());

    const auto requests = server.requests();
    REQUIRE(requests.size() == 1);
    const auto& req = requests[0];
    CHECK(req.path == "/v1/messages");
    CHECK(req.header("x-api-key") == AnthropicWire::kKey);
    CHECK(req.header("anthropic-version") == "2023-06-01");
    CHECK_FALSE(req.has_header("Authorization"));
    const auto body = req.json();
    CHECK(body["model"] == "claude-3-5-haiku-latest");
    CHECK(body["max_tokens"] == 700);
    CHECK(body["system"] == messages[0].content);
    CHECK(body["messages"] == nlohmann::json::array({messages[1]}));
    REQUIRE(body["tools"].size() == 1);
    CHECK(body["tools"][0]["input_schema"] == planner::proposal_schema());
    CHECK(body["tool_choice"] ==
          nlohmann::json{{"type", "tool"}, {"name", body["tools"][0]["name"]}});
}

TEST_CASE("anthropic from its default endpoint needs a key", "[anthropic]") {
    auto options = options_for({"anthropic/claude-3-5-haiku-latest", "rules"}, "https://x", "");
    CHECK_THROWS_WITH(planner::make_chain_router(options), Catch::Contains("ANTHROPIC_API_KEY"));
}

TEST_CASE("an anthropic entry with its own base URL is sent no key", "[anthropic]") {
    ProviderServer proxy;
    proxy.script({AnthropicWire::answer(valid_proposal().dump())});
    const auto spec = "anthropic/claude@" + proxy.url();
    const auto r = planner::make_chain_router(options_for({spec}, "https://api.anthropic.com"))
                       ->route(planner::testing::event_messages(), planner::proposal_schema());
    CHECK(r.model_used == spec);
    CHECK_FALSE(proxy.requests().at(0).has_header("x-api-key"));
    CHECK(proxy.requests().at(0).header("anthropic-version") == "2023-06-01");
}

TEST_CASE("an answer without a tool_use block or text is invalid", "[anthropic]") {
    ProviderServer server;
    server.script(
        {{200,
          R"({"type":"message","role":"assistant","content":[],"stop_reason":"end_turn"})",
          {},
          false}});
    const auto r =
        planner::make_chain_router(options_for({"anthropic/claude", "rules"}, server.url()))
            ->route(planner::testing::event_messages(), planner::proposal_schema());
    CHECK(attempt_list(r.attempts) ==
          std::vector<std::string>{"anthropic/claude invalid", "rules success"});
    CHECK_THAT(r.attempts[0].error, Catch::Contains("tool_use"));
}

TEST_CASE("a tool input outside the schema is invalid and names the field", "[anthropic]") {
    ProviderServer server;
    server.script(
        {AnthropicWire::answer(planner::testing::proposal_with("requires_human", "yes").dump())});
    const auto r =
        planner::make_chain_router(options_for({"anthropic/claude", "rules"}, server.url()))
            ->route(planner::testing::event_messages(), planner::proposal_schema());
    CHECK(attempt_list(r.attempts) ==
          std::vector<std::string>{"anthropic/claude invalid", "rules success"});
    CHECK_THAT(r.attempts[0].error, Catch::Contains("/requires_human"));
}
