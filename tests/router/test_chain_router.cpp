/// The chain as a whole: fallback order, cooldown on an injected clock, backoff, failure
/// reports, keys kept out of every message, option checks, concurrent use.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include <planner/planner.hpp>

#include "support/provider_server.hpp"
#include "support/router_harness.hpp"
#include "support/wire_formats.hpp"

using namespace std::chrono_literals;
using planner::testing::AnthropicWire;
using planner::testing::attempt_list;
using planner::testing::OllamaWire;
using planner::testing::OpenAIWire;
using planner::testing::ProviderServer;
using planner::testing::valid_proposal;
using Attempts = std::vector<std::string>;

namespace {

planner::RouteResult route(planner::LLMRouter& router) {
    return router.route(planner::testing::event_messages(), planner::proposal_schema());
}

}  // namespace

TEST_CASE("the chain falls back in order across providers", "[chain]") {
    ProviderServer ollama;
    ProviderServer openai;
    ProviderServer anthropic;
    ollama.script({OllamaWire::error(500, "boom")});
    openai.script({OpenAIWire::error(404, "no such model")});
    anthropic.script({AnthropicWire::answer(valid_proposal().dump())});
    auto options = planner::testing::fast_chain_options(
        {OllamaWire::spec(), OpenAIWire::spec(), AnthropicWire::spec(), "rules"});
    OllamaWire::point_at(options, ollama.url());
    OpenAIWire::point_at(options, openai.url());
    AnthropicWire::point_at(options, anthropic.url());
    const auto r = route(*planner::make_chain_router(options));
    CHECK(attempt_list(r.attempts) == Attempts{OllamaWire::spec() + " error",
                                               OpenAIWire::spec() + " error",
                                               AnthropicWire::spec() + " success"});
    CHECK(r.model_used == AnthropicWire::spec());
    CHECK(r.latency_ms >= r.attempts[0].latency_ms);
}

TEST_CASE("when every model fails, RouteError carries every attempt in one line", "[chain]") {
    ProviderServer server;
    server.script({OllamaWire::error(500, "boom"), OllamaWire::error(503, "still loading")});
    auto options = planner::testing::fast_chain_options({"ollama/a"});
    options.max_retries = 1;
    options.endpoints.ollama_base_url = server.url();
    try {
        route(*planner::make_chain_router(options));
        FAIL("route should have thrown");
    } catch (const planner::RouteError& e) {
        CHECK(attempt_list(e.attempts()) == Attempts{"ollama/a error", "ollama/a error"});
        const std::string what = e.what();
        CHECK(what.find('\n') == std::string::npos);
        CHECK_THAT(what, Catch::Contains("ollama/a error (HTTP 500: boom)") &&
                             Catch::Contains("ollama/a error (HTTP 503: still loading)"));
    }
}

TEST_CASE("a failing provider cools down and is skipped until the clock says so",
          "[chain][cooldown]") {
    ProviderServer server;
    planner::ManualClock clock;
    auto options = planner::testing::fast_chain_options({"ollama/a", "rules"});
    options.endpoints.ollama_base_url = server.url();
    options.clock = clock.steady_source();
    options.failures_before_cooldown = 3;
    options.provider_cooldown = 60s;
    const auto router = planner::make_chain_router(options);
    const Attempts failed{"ollama/a error", "rules success"};
    const Attempts skipped{"ollama/a skipped", "rules success"};

    for (int i = 0; i < 3; ++i) CHECK(attempt_list(route(*router).attempts) == failed);
    CHECK(server.requests().size() == 3);

    const auto r = route(*router);
    CHECK(attempt_list(r.attempts) == skipped);
    CHECK_THAT(r.attempts[0].error,
               Catch::Contains("cooling down after 3 failures") && Catch::Contains("60 s left"));
    CHECK(r.attempts[0].latency_ms == 0.0);
    clock.advance(59s);
    CHECK(attempt_list(route(*router).attempts) == skipped);
    CHECK(server.requests().size() == 3);

    // After the cooldown one attempt goes through; failing again, it cools down at once.
    clock.advance(1s);
    CHECK(attempt_list(route(*router).attempts) == failed);
    CHECK(attempt_list(route(*router).attempts) == skipped);
    CHECK(server.requests().size() == 4);

    // A success resets the count: the next failure alone does not start a cooldown.
    clock.advance(60s);
    server.script({OllamaWire::answer(valid_proposal().dump())});
    CHECK(route(*router).model_used == "ollama/a");
    CHECK(attempt_list(route(*router).attempts) == failed);
    CHECK(attempt_list(route(*router).attempts) == failed);
}

TEST_CASE("retries stop once the provider starts cooling down", "[chain][cooldown]") {
    ProviderServer server;
    planner::ManualClock clock;
    planner::testing::SleepLog sleeps;
    auto options = planner::testing::fast_chain_options({"ollama/a", "rules"});
    options.endpoints.ollama_base_url = server.url();
    options.clock = clock.steady_source();
    options.sleep = sleeps.recorder();
    options.max_retries = 5;
    options.failures_before_cooldown = 2;
    const auto r = route(*planner::make_chain_router(options));
    CHECK(attempt_list(r.attempts) ==
          Attempts{"ollama/a error", "ollama/a error", "rules success"});
    // One pause, before the second attempt; none for a retry the cooldown refuses.
    CHECK(sleeps.pauses().size() == 1);
}

TEST_CASE("a Retry-After is not waited for when the failure starts a cooldown",
          "[chain][cooldown][backoff]") {
    ProviderServer server;
    server.script({OpenAIWire::error(429, "slow down", {{"Retry-After", "20"}})});
    planner::testing::SleepLog sleeps;
    auto options = planner::testing::fast_chain_options({OpenAIWire::spec(), "rules"});
    OpenAIWire::point_at(options, server.url());
    options.sleep = sleeps.recorder();
    options.max_retries = 1;
    options.failures_before_cooldown = 1;
    const auto r = route(*planner::make_chain_router(options));
    CHECK(attempt_list(r.attempts) == Attempts{OpenAIWire::spec() + " error", "rules success"});
    CHECK(sleeps.pauses().empty());
    CHECK(server.requests().size() == 1);
}

TEST_CASE("latencies come from the injected clock", "[chain]") {
    planner::ManualClock clock;
    auto options = planner::testing::fast_chain_options({"ollama/a", "rules"});
    options.clock = clock.steady_source();
    auto transport = std::make_shared<planner::testing::ScriptedTransport>(
        [&clock](const planner::HttpRequest&) {
            clock.advance(250ms);
            return planner::HttpResponse{planner::HttpFailure::timeout, 0, {}, "", "too slow"};
        });
    options.transport = transport;
    const auto r = route(*planner::make_chain_router(options));
    CHECK(attempt_list(r.attempts) == Attempts{"ollama/a timeout", "rules success"});
    CHECK(r.attempts[0].latency_ms == 250.0);
    CHECK(r.latency_ms == 250.0);
}

TEST_CASE("backoff doubles per retry, with jitter, up to backoff_max", "[chain][backoff]") {
    planner::testing::SleepLog sleeps;
    auto options = planner::testing::fast_chain_options({"ollama/a", "rules"});
    options.sleep = sleeps.recorder();
    options.max_retries = 4;
    options.failures_before_cooldown = 10;
    options.backoff_initial = 100ms;
    options.backoff_max = 300ms;
    options.transport =
        std::make_shared<planner::testing::ScriptedTransport>([](const planner::HttpRequest&) {
            return planner::HttpResponse{planner::HttpFailure::none, 502, {}, "bad gateway", ""};
        });
    const auto r = route(*planner::make_chain_router(options));
    CHECK(r.attempts.size() == 6);
    const auto pauses = sleeps.pauses();
    REQUIRE(pauses.size() == 4);
    const std::vector<std::pair<std::chrono::milliseconds, std::chrono::milliseconds>> bounds{
        {50ms, 100ms}, {100ms, 200ms}, {150ms, 300ms}, {150ms, 300ms}};
    for (std::size_t i = 0; i < pauses.size(); ++i) {
        INFO("pause " << i << ": " << pauses[i].count() << " ms");
        CHECK(pauses[i] >= bounds[i].first);
        CHECK(pauses[i] <= bounds[i].second);
    }
}

TEST_CASE("a Retry-After above the cap moves on instead of waiting", "[chain][backoff]") {
    for (const auto* retry_after : {"120", "Wed, 21 Oct 2065 07:28:00 GMT"}) {
        INFO(retry_after);
        planner::testing::SleepLog sleeps;
        ProviderServer server;
        server.script({OpenAIWire::error(429, "quota", {{"Retry-After", retry_after}})});
        auto options = planner::testing::fast_chain_options({OpenAIWire::spec(), "rules"});
        OpenAIWire::point_at(options, server.url());
        options.max_retries = 1;
        options.retry_after_cap = 30s;
        options.sleep = sleeps.recorder();
        const auto r = route(*planner::make_chain_router(options));
        CHECK(attempt_list(r.attempts) == Attempts{OpenAIWire::spec() + " error", "rules success"});
        CHECK_THAT(r.attempts[0].error, Catch::Contains("above the cap"));
        CHECK(sleeps.pauses().empty());
    }
}

TEST_CASE("API keys never appear in attempts or exceptions, even when echoed", "[chain][secrets]") {
    const std::string openai_key = "sk-secret-openai-key-777";
    const std::string anthropic_key = "sk-ant-secret-key-888";
    ProviderServer openai;
    ProviderServer anthropic;
    openai.script(
        {OpenAIWire::error(401, "Incorrect API key provided: " + openai_key),
         {200, "{\"choices\":[{\"message\":{\"content\":\"" + openai_key + "\"}}]}", {}, false}});
    anthropic.script({AnthropicWire::error(500, "bad header x-api-key=" + anthropic_key)});
    auto options = planner::testing::fast_chain_options({"openai/a", "openai/b", "anthropic/c"});
    options.endpoints.openai_base_url = openai.url() + "/v1";
    options.endpoints.openai_api_key = openai_key;
    options.endpoints.anthropic_base_url = anthropic.url();
    options.endpoints.anthropic_api_key = anthropic_key;
    try {
        route(*planner::make_chain_router(options));
        FAIL("route should have thrown");
    } catch (const planner::RouteError& e) {
        CHECK(attempt_list(e.attempts()) ==
              Attempts{"openai/a error", "openai/b invalid", "anthropic/c error"});
        std::string all = e.what();
        for (const auto& a : e.attempts()) all += "\n" + a.model + " " + a.error;
        INFO(all);
        CHECK(all.find(openai_key) == std::string::npos);
        CHECK(all.find(anthropic_key) == std::string::npos);
        CHECK_THAT(all, Catch::Contains("[redacted]"));
    }
    CHECK(openai.requests().at(0).header("Authorization") == "Bearer " + openai_key);

    options.endpoints.openai_api_key = "sk-bad\nkey-999";
    try {
        planner::make_chain_router(options);
        FAIL("a key with a line break was accepted");
    } catch (const std::invalid_argument& e) {
        CHECK(std::string(e.what()).find("key-999") == std::string::npos);
        CHECK_THAT(e.what(), Catch::Contains("OPENAI_API_KEY"));
    }
}

TEST_CASE("bad options are refused with a one-line reason", "[chain][options]") {
    const auto reason = [](const planner::ChainRouterOptions& o) {
        try {
            planner::make_chain_router(o);
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    planner::ChainRouterOptions o;
    CHECK(reason(o) == "accepted");  // the defaults work
    const std::vector<std::pair<std::function<void(planner::ChainRouterOptions&)>, std::string>>
        cases{
            {[](auto& x) { x.models.clear(); }, "chain is empty"},
            {[](auto& x) {
                 x.models = {"rules", "rules"};
             },
             "appears twice"},
            {[](auto& x) { x.models = {"gemini/pro"}; }, "unknown provider"},
            {[](auto& x) { x.attempt_timeout = 0ms; }, "attempt_timeout"},
            {[](auto& x) { x.max_retries = -1; }, "max_retries"},
            {[](auto& x) { x.max_retries = 11; }, "max_retries"},
            {[](auto& x) { x.backoff_initial = -1ms; }, "backoff_initial"},
            {[](auto& x) { x.backoff_max = 1ms; }, "backoff_max"},
            {[](auto& x) { x.retry_after_cap = -1ms; }, "retry_after_cap"},
            {[](auto& x) { x.failures_before_cooldown = 0; }, "failures_before_cooldown"},
            {[](auto& x) { x.provider_cooldown = -1s; }, "provider_cooldown"},
            {[](auto& x) { x.max_output_tokens = 0; }, "max_output_tokens"},
            {[](auto& x) { x.endpoints.ollama_base_url = "gpu:11434"; }, "OLLAMA_HOST"},
            {[](auto& x) {
                 x.models = {"openai/m"};
                 x.endpoints.openai_base_url = "https://u:p@api.example/v1";
             },
             "credentials"},
        };
    for (const auto& [change, mention] : cases) {
        auto bad = o;
        change(bad);
        const auto why = reason(bad);
        INFO(why);
        CHECK_THAT(why, Catch::Contains(mention));
        CHECK(why.find('\n') == std::string::npos);
    }
}

TEST_CASE("route validates against the schema it is given", "[chain][schema]") {
    ProviderServer server;
    server.script({OpenAIWire::answer(R"({"answer": 42})")});
    auto options = planner::testing::fast_chain_options({"rules", OpenAIWire::spec()});
    OpenAIWire::point_at(options, server.url());
    const nlohmann::json schema = {{"type", "object"},
                                   {"properties", {{"answer", {{"type", "integer"}}}}},
                                   {"required", {"answer"}},
                                   {"additionalProperties", false}};
    const auto router = planner::make_chain_router(options);
    const auto r = router->route(planner::testing::event_messages(), schema);
    CHECK(attempt_list(r.attempts) == Attempts{"rules invalid", OpenAIWire::spec() + " success"});
    CHECK(r.content == nlohmann::json{{"answer", 42}});
    CHECK_THROWS_AS(router->route({}, nlohmann::json{{"type", 12}}), std::invalid_argument);
}

TEST_CASE("route may be called from several threads at once", "[chain][threads]") {
    constexpr int kThreads = 8;
    ProviderServer server;
    std::vector<planner::testing::ScriptedReply> replies;
    for (int i = 0; i < kThreads; ++i) {
        replies.push_back(i % 2 ? OllamaWire::answer(valid_proposal().dump())
                                : OllamaWire::error(404, "missing"));
    }
    server.script(replies);
    auto options = planner::testing::fast_chain_options({"ollama/a", "rules"});
    options.endpoints.ollama_base_url = server.url();
    options.failures_before_cooldown = 100;
    const auto router = planner::make_chain_router(options);
    std::atomic<int> from_model{0};
    std::atomic<int> from_rules{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
        threads.emplace_back([&] {
            const auto r = route(*router);
            (r.model_used == "rules" ? from_rules : from_model)++;
        });
    }
    for (auto& t : threads) t.join();
    CHECK(from_model == kThreads / 2);
    CHECK(from_rules == kThreads / 2);
    CHECK(server.requests().size() == kThreads);
}
