/// What the Ollama entry sends and how it reads Ollama's answers and errors.

#include <catch2/catch.hpp>

#include <chrono>

#include <planner/planner.hpp>

#include "support/provider_server.hpp"
#include "support/router_harness.hpp"
#include "support/wire_formats.hpp"

using namespace std::chrono_literals;
using planner::testing::attempt_list;
using planner::testing::OllamaWire;
using planner::testing::ProviderServer;
using planner::testing::valid_proposal;

TEST_CASE("ollama gets /api/chat without streaming, with format and temperature 0", "[ollama]") {
    ProviderServer server;
    server.script({OllamaWire::answer(valid_proposal().dump())});
    auto options = planner::testing::fast_chain_options({"ollama/qwen2.5:7b"});
    options.endpoints.ollama_base_url = server.url();
    const auto messages = planner::testing::event_messages();
    planner::make_chain_router(options)->route(messages, planner::proposal_schema());

    const auto requests = server.requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].path == "/api/chat");
    const auto body = requests[0].json();
    CHECK(body["model"] == "qwen2.5:7b");
    CHECK(body["stream"] == false);
    CHECK(body["format"] == planner::proposal_schema());
    CHECK(body["options"]["temperature"] == 0);
    CHECK(body["messages"] == nlohmann::json(messages));
    CHECK_FALSE(requests[0].has_header("Authorization"));
}

TEST_CASE("two ollama hosts: each entry goes to its own server, in order", "[ollama]") {
    ProviderServer gpu;
    ProviderServer nas;
    gpu.script({OllamaWire::error(503, "server busy")});
    nas.script({OllamaWire::answer(valid_proposal().dump())});
    const auto first = "ollama/qwen2.5:14b@" + gpu.url();
    const auto second = "ollama/qwen2.5:3b@" + nas.url() + "/";
    auto options = planner::testing::fast_chain_options({first, second, "rules"});
    options.endpoints.ollama_base_url = "http://127.0.0.1:1";  // not used by either entry
    const auto r = planner::make_chain_router(options)->route(planner::testing::event_messages(),
                                                              planner::proposal_schema());
    const auto second_name = "ollama/qwen2.5:3b@" + nas.url();
    CHECK(attempt_list(r.attempts) ==
          std::vector<std::string>{first + " error", second_name + " success"});
    CHECK(r.model_used == second_name);
    CHECK(gpu.requests().at(0).json()["model"] == "qwen2.5:14b");
    CHECK(nas.requests().at(0).json()["model"] == "qwen2.5:3b");
}

TEST_CASE("a model that ignores format and adds text around the JSON is still read", "[ollama]") {
    ProviderServer server;
    server.script(
        {OllamaWire::answer("```\n" + valid_proposal().dump() + "\n```\nHope this helps!")});
    auto options = planner::testing::fast_chain_options({"ollama/llama3.2:3b"});
    options.endpoints.ollama_base_url = server.url();
    const auto r = planner::make_chain_router(options)->route(planner::testing::event_messages(),
                                                              planner::proposal_schema());
    CHECK(r.content == valid_proposal());
    CHECK(r.model_used == "ollama/llama3.2:3b");
}

TEST_CASE("ollama bodies that are not an answer are errors, not crashes", "[ollama]") {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"<html>proxy error</html>", "not a JSON object"},
        {R"({"model":"m","done":true})", "without message.content"},
        {R"({"message":{"role":"assistant","content":42}})", "without message.content"},
        {R"({"error":"unexpected EOF"})", "unexpected EOF"},
    };
    for (const auto& [body, mention] : cases) {
        INFO(body);
        ProviderServer server;
        server.script({{200, body, {}, false}});
        auto options = planner::testing::fast_chain_options({"ollama/qwen2.5:7b", "rules"});
        options.endpoints.ollama_base_url = server.url();
        const auto r = planner::make_chain_router(options)->route(
            planner::testing::event_messages(), planner::proposal_schema());
        CHECK(attempt_list(r.attempts) ==
              std::vector<std::string>{"ollama/qwen2.5:7b error", "rules success"});
        CHECK_THAT(r.attempts[0].error, Catch::Contains(mention));
    }
}
