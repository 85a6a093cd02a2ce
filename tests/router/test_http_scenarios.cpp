/// Every scripted scenario over real HTTP, once per wire format (Ollama, OpenAI, Anthropic).

#include <catch2/catch.hpp>

#include <chrono>

#include <planner/planner.hpp>

#include "support/provider_server.hpp"
#include "support/router_harness.hpp"
#include "support/wire_formats.hpp"

using namespace std::chrono_literals;
using planner::testing::AnthropicWire;
using planner::testing::attempt_list;
using planner::testing::OllamaWire;
using planner::testing::OpenAIWire;
using planner::testing::proposal_with;
using planner::testing::ProviderServer;
using planner::testing::valid_proposal;

namespace {

/// One wire-format model in front of `rules`, against a scripted server; backoff only recorded.
template <class Wire>
struct Chain {
    ProviderServer server;
    planner::testing::SleepLog sleeps;
    planner::ChainRouterOptions options;

    Chain() {
        options.models = {Wire::spec(), "rules"};
        Wire::point_at(options, server.url());
        options.attempt_timeout = 2s;
        options.max_retries = 1;
        options.sleep = sleeps.recorder();
    }

    planner::RouteResult route() {
        return planner::make_chain_router(options)->route(planner::testing::event_messages(),
                                                          planner::proposal_schema());
    }

    std::vector<std::string> model_then(std::initializer_list<const char*> statuses,
                                        bool rules_last = false) const {
        std::vector<std::string> out;
        for (const auto* s : statuses) out.push_back(Wire::spec() + " " + s);
        if (rules_last) out.emplace_back("rules success");
        return out;
    }
};

}  // namespace

TEMPLATE_TEST_CASE("a valid answer is used and the request carries the schema", "[http]",
                   OllamaWire, OpenAIWire, AnthropicWire) {
    Chain<TestType> chain;
    chain.server.script({TestType::answer(valid_proposal().dump())});
    const auto r = chain.route();
    CHECK(r.content == valid_proposal());
    CHECK(r.model_used == TestType::spec());
    CHECK(attempt_list(r.attempts) == chain.model_then({"success"}));
    CHECK(r.attempts[0].error.empty());
    const auto requests = chain.server.requests();
    REQUIRE(requests.size() == 1);
    CHECK(requests[0].path == TestType::path());
    CHECK(TestType::sent_schema(requests[0].json()) == planner::proposal_schema());
    CHECK(requests[0].header("Content-Type") == "application/json");
}

TEMPLATE_TEST_CASE("an answer in a fenced code block is accepted", "[http]", OllamaWire, OpenAIWire,
                   AnthropicWire) {
    Chain<TestType> chain;
    chain.server.script({TestType::answer("Here is the proposal:\n```json\n" +
                                          valid_proposal().dump(2) + "\n```")});
    const auto r = chain.route();
    CHECK(r.content == valid_proposal());
    CHECK(attempt_list(r.attempts) == chain.model_then({"success"}));
    CHECK_THAT(r.raw_text, Catch::StartsWith("Here is the proposal"));
}

TEMPLATE_TEST_CASE("an answer embedded in prose is accepted", "[http]", OllamaWire, OpenAIWire,
                   AnthropicWire) {
    Chain<TestType> chain;
    chain.server.script({TestType::answer("The broker is down, so I suggest " +
                                          valid_proposal().dump() + " and nothing else.")});
    const auto r = chain.route();
    CHECK(r.content == valid_proposal());
    CHECK(r.model_used == TestType::spec());
}

TEMPLATE_TEST_CASE("a schema-invalid answer moves on at once and says why", "[http]", OllamaWire,
                   OpenAIWire, AnthropicWire) {
    const std::vector<std::tuple<std::string, nlohmann::json, std::string>> cases{
        {"action", "reboot", "/action"},
        {"confidence", 1.7, "/confidence"},
        {"reason", nullptr, "reason"},
    };
    for (const auto& [field, value, mention] : cases) {
        INFO(field);
        Chain<TestType> chain;
        chain.server.script({TestType::answer(proposal_with(field, value).dump())});
        const auto r = chain.route();
        CHECK(r.model_used == "rules");
        CHECK(attempt_list(r.attempts) == chain.model_then({"invalid"}, true));
        CHECK_THAT(r.attempts[0].error, Catch::Contains(mention));
        CHECK_THAT(r.attempts[0].error, Catch::Contains("does not match the schema"));
        CHECK(chain.server.requests().size() == 1);  // invalid output is not retried
        CHECK(chain.sleeps.pauses().empty());
    }
}

TEMPLATE_TEST_CASE("HTTP 500 is retried once with backoff, then the chain moves on", "[http]",
                   OllamaWire, OpenAIWire, AnthropicWire) {
    Chain<TestType> chain;
    chain.server.script(
        {TestType::error(500, "CUDA out of memory"), TestType::error(500, "CUDA out of memory")});
    const auto r = chain.route();
    CHECK(r.model_used == "rules");
    CHECK(attempt_list(r.attempts) == chain.model_then({"error", "error"}, true));
    CHECK_THAT(r.attempts[0].error,
               Catch::Contains("HTTP 500") && Catch::Contains("CUDA out of memory"));
    CHECK(chain.server.requests().size() == 2);
    const auto pauses = chain.sleeps.pauses();
    REQUIRE(pauses.size() == 1);
    CHECK(pauses[0] >= 250ms);  // backoff_initial 500 ms with jitter in [half, full]
    CHECK(pauses[0] <= 500ms);
}

TEMPLATE_TEST_CASE("429 is retried after the server's Retry-After", "[http]", OllamaWire,
                   OpenAIWire, AnthropicWire) {
    Chain<TestType> chain;
    chain.server.script({TestType::error(429, "rate limited", {{"Retry-After", "2"}}),
                         TestType::answer(valid_proposal().dump())});
    const auto r = chain.route();
    CHECK(r.model_used == TestType::spec());
    CHECK(attempt_list(r.attempts) == chain.model_then({"error", "success"}));
    CHECK_THAT(r.attempts[0].error, Catch::Contains("HTTP 429"));
    CHECK(chain.sleeps.pauses() == std::vector<std::chrono::milliseconds>{2000ms});
}

TEMPLATE_TEST_CASE("529 overloaded is retried", "[http]", OllamaWire, OpenAIWire, AnthropicWire) {
    Chain<TestType> chain;
    chain.server.script(
        {TestType::error(529, "Overloaded"), TestType::answer(valid_proposal().dump())});
    const auto r = chain.route();
    CHECK(attempt_list(r.attempts) == chain.model_then({"error", "success"}));
    CHECK_THAT(r.attempts[0].error, Catch::Contains("HTTP 529") && Catch::Contains("Overloaded"));
    CHECK(chain.sleeps.pauses().size() == 1);
}

TEMPLATE_TEST_CASE("404 model not found moves on without a retry", "[http]", OllamaWire, OpenAIWire,
                   AnthropicWire) {
    Chain<TestType> chain;
    chain.server.script({TestType::error(404, "model 'qwen2.5:7b' not found, try pulling it")});
    const auto r = chain.route();
    CHECK(r.model_used == "rules");
    CHECK(attempt_list(r.attempts) == chain.model_then({"error"}, true));
    CHECK_THAT(r.attempts[0].error, Catch::Contains("HTTP 404") && Catch::Contains("not found"));
    CHECK(chain.server.requests().size() == 1);
    CHECK(chain.sleeps.pauses().empty());
}

TEMPLATE_TEST_CASE("a server that never answers costs one attempt timeout", "[http]", OllamaWire,
                   OpenAIWire, AnthropicWire) {
    Chain<TestType> chain;
    chain.options.attempt_timeout = 300ms;
    chain.options.max_retries = 0;
    chain.server.script({planner::testing::hang()});
    const auto started = std::chrono::steady_clock::now();
    const auto r = chain.route();
    const auto elapsed = std::chrono::steady_clock::now() - started;
    CHECK(attempt_list(r.attempts) == chain.model_then({"timeout"}, true));
    CHECK(elapsed >= 290ms);
    CHECK(elapsed < 1500ms);
    CHECK(r.attempts[0].latency_ms >= 290.0);
    CHECK(r.attempts[0].latency_ms < 1500.0);
    CHECK_THAT(r.attempts[0].error, Catch::Contains("300 ms"));
}

TEMPLATE_TEST_CASE("a closed port is a retried transport error", "[http]", OllamaWire, OpenAIWire,
                   AnthropicWire) {
    Chain<TestType> chain;
    TestType::point_at(chain.options,
                       "http://127.0.0.1:" + std::to_string(planner::testing::closed_port()));
    const auto r = chain.route();
    CHECK(r.model_used == "rules");
    CHECK(attempt_list(r.attempts) == chain.model_then({"error", "error"}, true));
    CHECK_THAT(r.attempts[0].error, Catch::Contains("connect", Catch::CaseSensitive::No));
    CHECK(chain.sleeps.pauses().size() == 1);
}

TEMPLATE_TEST_CASE("a redirect is not followed and the attempt says where it pointed", "[http]",
                   OllamaWire, OpenAIWire, AnthropicWire) {
    ProviderServer elsewhere;
    Chain<TestType> chain;
    chain.server.script({{301, "", {{"Location", "https://" + elsewhere.url().substr(7)}}, false}});
    const auto r = chain.route();
    CHECK(r.model_used == "rules");
    CHECK(attempt_list(r.attempts) == chain.model_then({"error"}, true));
    CHECK(r.attempts[0].error ==
          "HTTP 301: redirect not followed (to https://" + elsewhere.url().substr(7) + ")");
    CHECK(chain.server.requests().size() == 1);
    CHECK(elsewhere.requests().empty());
    CHECK(chain.sleeps.pauses().empty());
}

TEMPLATE_TEST_CASE("a body nested 100 000 levels deep is refused before it is parsed",
                   "[http][limits]", OllamaWire, OpenAIWire, AnthropicWire) {
    // Deep where each wire format would copy, dump or redact it recursively: an error object
    // (Ollama, OpenAI) and Anthropic's tool input.
    const std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
    const std::string body =
        R"({"error":)" + deep + R"(,"content":[{"type":"tool_use","input":)" + deep + "}]}";

    Chain<TestType> chain;
    chain.server.script({{200, body, {}, false}});
    const auto r = chain.route();
    CHECK(r.model_used == "rules");
    CHECK(attempt_list(r.attempts) == chain.model_then({"error"}, true));
    CHECK(r.attempts[0].error == "HTTP 200 with a body nested deeper than 128 levels, not read");
    CHECK(chain.sleeps.pauses().empty());

    // An error status keeps its meaning (a 500 is retried); only its body goes unread.
    Chain<TestType> failing;
    failing.server.script({{500, body, {}, false}, {500, body, {}, false}});
    const auto f = failing.route();
    CHECK(attempt_list(f.attempts) == failing.model_then({"error", "error"}, true));
    CHECK(f.attempts[0].error == "HTTP 500: body nested deeper than 128 levels, not read");
}
