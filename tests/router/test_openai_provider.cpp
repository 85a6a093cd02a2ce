/// What the OpenAI-compatible entry sends and how it reads answers from llama.cpp, vLLM and
/// hosted servers.

#include <catch2/catch.hpp>

#include <chrono>

#include <planner/planner.hpp>

#include "support/provider_server.hpp"
#include "support/router_harness.hpp"
#include "support/wire_formats.hpp"

using namespace std::chrono_literals;
using planner::testing::attempt_list;
using planner::testing::OpenAIWire;
using planner::testing::ProviderServer;
using planner::testing::valid_proposal;

namespace {

planner::ChainRouterOptions options_for(std::vector<planner::ModelEntry> models,
                                        const std::string& url, std::string key) {
    planner::ChainRouterOptions options;
    options.models = std::move(models);
    options.endpoints.openai_base_url = url + "/v1";
    options.endpoints.openai_api_key = std::move(key);
    options.attempt_timeout = 2s;
    options.max_retries = 0;
    options.sleep = [](std::chrono::milliseconds) {};
    return options;
}

planner::RouteResult route(const planner::ChainRouterOptions& options) {
    return planner::make_chain_router(options)->route(planner::testing::event_messages(),
                                                      planner::proposal_schema());
}

}  // namespace

TEST_CASE("openai gets the nested json_schema response format and a Bearer key", "[openai]") {
    ProviderServer server;
    server.script({OpenAIWire::answer(valid_proposal().dump())});
    const auto messages = planner::testing::event_messages();
    planner::make_chain_router(options_for({"openai/gpt-4o-mini"}, server.url(), "sk-abc"))
        ->route(messages, planner::proposal_schema());

    const auto requests = server.requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].path == "/v1/chat/completions");
    CHECK(requests[0].header("Authorization") == "Bearer sk-abc");
    const auto body = requests[0].json();
    CHECK(body["model"] == "gpt-4o-mini");
    CHECK(body["temperature"] == 0);
    CHECK(body["messages"] == nlohmann::json(messages));
    const auto& format = body["response_format"];
    CHECK(format["type"] == "json_schema");
    CHECK(format["json_schema"]["name"] == "answer");
    CHECK(format["json_schema"]["strict"] == true);
    CHECK(format["json_schema"]["schema"] == planner::proposal_schema());
    CHECK_FALSE(body.contains("stream"));
}

TEST_CASE("a local server without a key gets no Authorization header", "[openai]") {
    ProviderServer server;
    server.script({OpenAIWire::answer(valid_proposal().dump())});
    const auto r = route(options_for({"openai/local"}, server.url(), ""));
    CHECK(r.model_used == "openai/local");
    CHECK_FALSE(server.requests().at(0).has_header("Authorization"));
}

TEST_CASE("the hosted key never goes to an entry with its own base URL", "[openai]") {
    ProviderServer hosted;
    ProviderServer lan;
    lan.script({OpenAIWire::error(503, "loading model")});
    hosted.script({OpenAIWire::answer(valid_proposal().dump())});
    const auto r = route(options_for({"openai/llama@" + lan.url() + "/v1", "openai/gpt-4o-mini"},
                                     hosted.url(), "sk-hosted"));
    CHECK(r.model_used == "openai/gpt-4o-mini");
    CHECK_FALSE(lan.requests().at(0).has_header("Authorization"));
    CHECK(hosted.requests().at(0).header("Authorization") == "Bearer sk-hosted");
    CHECK(lan.requests().at(0).path == "/v1/chat/completions");
}

TEST_CASE("a schema title names the response format", "[openai]") {
    ProviderServer server;
    server.script({OpenAIWire::answer(R"({"ok": true})")});
    const nlohmann::json schema = {{"title", "health_check"},
                                   {"type", "object"},
                                   {"properties", {{"ok", {{"type", "boolean"}}}}},
                                   {"required", {"ok"}}};
    const auto r = planner::make_chain_router(options_for({"openai/m"}, server.url(), ""))
                       ->route(planner::testing::event_messages(), schema);
    CHECK(r.content == nlohmann::json{{"ok", true}});
    CHECK(server.requests().at(0).json()["response_format"]["json_schema"]["name"] ==
          "health_check");
}

TEST_CASE("vLLM's flat error form is read", "[openai]") {
    ProviderServer server;
    server.script({{404,
                    R"({"object":"error","message":"The model `gpt-x` does not exist.",)"
                    R"("type":"NotFoundError","param":null,"code":404})",
                    {},
                    false}});
    const auto r = route(options_for({"openai/gpt-x", "rules"}, server.url(), ""));
    CHECK(attempt_list(r.attempts) ==
          std::vector<std::string>{"openai/gpt-x error", "rules success"});
    CHECK(r.attempts[0].error == "HTTP 404: The model `gpt-x` does not exist.");
}

TEST_CASE("a refusal is an invalid answer and a body without choices an error", "[openai]") {
    ProviderServer server;
    server.script({{200,
                    R"({"choices":[{"index":0,"message":{"role":"assistant","content":null,)"
                    R"("refusal":"I can't help with that."},"finish_reason":"stop"}]})",
                    {},
                    false}});
    auto r = route(options_for({"openai/m", "rules"}, server.url(), ""));
    CHECK(attempt_list(r.attempts) ==
          std::vector<std::string>{"openai/m invalid", "rules success"});
    CHECK_THAT(r.attempts[0].error, Catch::Contains("refused"));

    server.script({{200, R"({"choices":[]})", {}, false}});
    r = route(options_for({"openai/m", "rules"}, server.url(), ""));
    CHECK(attempt_list(r.attempts) == std::vector<std::string>{"openai/m error", "rules success"});
    CHECK_THAT(r.attempts[0].error, Catch::Contains("choices[0].message.content"));
}
