/// The chain against servers that behave like the real ones (issue 18): a model that generates
/// until its cap (or forever without one), a server that cuts the prompt to its context and
/// reports what it read, one that demands a bearer key on a base-URL entry, one that drops the
/// nested json_schema, one that answers `length`. All over real loopback HTTP.

#include <catch2/catch.hpp>

#include <chrono>
#include <stdexcept>
#include <string>
#include <type_traits>

#include <httplib.h>

#include <planner/planner.hpp>

#include "chain_detail.hpp"
#include "support/provider_server.hpp"
#include "support/router_harness.hpp"
#include "support/wire_formats.hpp"

using namespace std::chrono_literals;
using planner::ModelEntry;
using planner::testing::AnthropicWire;
using planner::testing::attempt_list;
using planner::testing::Generation;
using planner::testing::ModelServerTraits;
using planner::testing::OllamaWire;
using planner::testing::OpenAIWire;
using planner::testing::ProviderServer;
using planner::testing::simulated_model;
using planner::testing::valid_proposal;
using Attempts = std::vector<std::string>;

namespace {

/// One simulated server of `Wire`'s format and a chain `<entry>, rules` pointed at it.
template <class Wire>
struct Served {
    ProviderServer server;
    planner::ChainRouterOptions options;

    explicit Served(ModelServerTraits traits = {}, ModelEntry entry = Wire::spec()) {
        server.respond_with(simulated_model<Wire>(traits));
        options = planner::testing::fast_chain_options({std::move(entry), "rules"});
        Wire::point_at(options, server.url());
    }

    planner::RouteResult route() {
        return planner::make_chain_router(options)->route(planner::testing::event_messages(),
                                                          planner::proposal_schema());
    }
    nlohmann::json sent(std::size_t i = 0) const { return server.requests().at(i).json(); }
    std::vector<std::string> model_then(std::initializer_list<const char*> statuses) const {
        std::vector<std::string> out;
        for (const auto* s : statuses) out.push_back(Wire::spec() + " " + s);
        out.emplace_back("rules success");
        return out;
    }
};

std::size_t event_prompt_bytes() {
    std::size_t n = 0;
    for (const auto& m : planner::testing::event_messages()) n += m.content.size();
    return n;
}

}  // namespace

// --- Bounded answers --------------------------------------------------------------------

TEST_CASE("every wire format carries the answer's cap, 512 tokens by default", "[servers]") {
    Served<OllamaWire> ollama;
    CHECK(ollama.route().model_used == OllamaWire::spec());
    CHECK(ollama.sent()["options"]["num_predict"] == 512);
    CHECK(ollama.sent()["options"]["temperature"] == 0);

    Served<OpenAIWire> openai;
    CHECK(openai.route().model_used == OpenAIWire::spec());
    CHECK(openai.sent()["max_tokens"] == 512);
    CHECK_FALSE(openai.sent().contains("max_completion_tokens"));

    Served<AnthropicWire> anthropic;
    CHECK(anthropic.route().model_used == AnthropicWire::spec());
    CHECK(anthropic.sent()["max_tokens"] == 512);
}

TEMPLATE_TEST_CASE("an answer cut at its cap is `truncated`, not retried, and rules answers",
                   "[servers]", OllamaWire, OpenAIWire, AnthropicWire) {
    ModelEntry entry = TestType::spec();
    entry.max_tokens = 20;  // below the 60 the proposal costs
    Served<TestType> s({}, entry);
    s.options.max_retries = 1;
    const auto r = s.route();
    CHECK(attempt_list(r.attempts) == s.model_then({"truncated"}));
    CHECK_THAT(r.attempts[0].error, Catch::Contains("cap of 20 tokens"));
    CHECK(s.server.requests().size() == 1);  // the same request would stop at the same cap
    CHECK(planner::to_string(planner::AttemptStatus::truncated) == "truncated");
}

TEST_CASE("a server that drops the nested schema rambles to the cap, json_object fixes it",
          "[servers]") {
    ModelServerTraits llama_2025;
    llama_2025.honours_nested_schema = false;
    Served<OpenAIWire> nested(llama_2025);
    const auto r = nested.route();
    CHECK(attempt_list(r.attempts) == nested.model_then({"truncated"}));
    CHECK_THAT(r.attempts[0].error, Catch::StartsWith("finish_reason is length"));
    CHECK(nested.sent()["response_format"]["type"] == "json_schema");

    ModelEntry entry = OpenAIWire::spec();
    entry.schema_mode = ModelEntry::SchemaMode::json_object;
    Served<OpenAIWire> flat(llama_2025, entry);
    CHECK(flat.route().model_used == OpenAIWire::spec());
    const auto format = flat.sent()["response_format"];
    CHECK(format["type"] == "json_object");
    CHECK(format["schema"] == planner::proposal_schema());
    CHECK_FALSE(format.contains("json_schema"));
}

TEST_CASE("the simulated server generates forever without a cap", "[servers]") {
    // The behaviour the cap exists for: llama-server with n_predict -1.
    ProviderServer server;
    server.respond_with(simulated_model<OpenAIWire>({}));
    httplib::Client client("127.0.0.1", server.port());
    client.set_read_timeout(0, 300'000);  // 300 ms
    const nlohmann::json body = {
        {"model", "m"},
        {"messages", {{{"role", "user"}, {"content", "hi"}}}},
        {"response_format", {{"type", "json_schema"}, {"json_schema", {{"schema", {}}}}}}};
    const auto started = std::chrono::steady_clock::now();
    const auto res = client.Post("/v1/chat/completions", body.dump(), "application/json");
    CHECK_FALSE(res);  // no answer: the client gave up
    CHECK(std::chrono::steady_clock::now() - started >= 290ms);
    server.release();
}

TEST_CASE("the token field: max_completion_tokens for api.openai.com or when chosen", "[servers]") {
    std::vector<nlohmann::json> bodies;
    std::vector<std::string> urls;
    auto options = planner::testing::fast_chain_options({"openai/o3-mini"});
    options.transport = std::make_shared<planner::testing::ScriptedTransport>(
        [&](const planner::HttpRequest& request) {
            bodies.push_back(nlohmann::json::parse(request.body));
            urls.push_back(request.url);
            return planner::HttpResponse{planner::HttpFailure::none,
                                         200,
                                         {},
                                         OpenAIWire::answer(valid_proposal().dump()).body,
                                         ""};
        });
    options.endpoints.openai_base_url = "https://api.openai.com/v1";
    planner::make_chain_router(options)->route(planner::testing::event_messages());
    REQUIRE(bodies.size() == 1);
    CHECK(urls[0] == "https://api.openai.com/v1/chat/completions");
    CHECK(bodies[0]["max_completion_tokens"] == 512);
    CHECK_FALSE(bodies[0].contains("max_tokens"));

    ModelEntry chosen = "openai/m@http://vllm.lan:8000/v1";
    chosen.token_limit_field = ModelEntry::TokenLimitField::max_completion_tokens;
    chosen.max_tokens = 300;
    ModelEntry forced = "openai/o3@https://api.openai.com/v1";
    forced.token_limit_field = ModelEntry::TokenLimitField::max_tokens;
    options.models = {chosen};
    planner::make_chain_router(options)->route(planner::testing::event_messages());
    options.models = {forced};
    planner::make_chain_router(options)->route(planner::testing::event_messages());
    REQUIRE(bodies.size() == 3);
    CHECK(bodies[1]["max_completion_tokens"] == 300);
    CHECK_FALSE(bodies[1].contains("max_tokens"));
    CHECK(bodies[2]["max_tokens"] == 512);
    CHECK_FALSE(bodies[2].contains("max_completion_tokens"));
}

TEST_CASE("the chain-wide max_output_tokens still overrides every entry", "[servers]") {
    Served<OllamaWire> s;
    s.options.max_output_tokens = 700;
    s.route();
    CHECK(s.sent()["options"]["num_predict"] == 700);
}

// --- Timeouts ---------------------------------------------------------------------------

TEMPLATE_TEST_CASE("a timeout is not retried on the same model unless the entry asks", "[servers]",
                   OllamaWire, OpenAIWire, AnthropicWire) {
    ModelEntry entry = TestType::spec();
    entry.timeout = 200ms;  // the entry's own limit wins over attempt_timeout (2 s)
    Served<TestType> s({}, entry);
    s.options.max_retries = 1;
    s.server.script({planner::testing::hang(), planner::testing::hang()});
    const auto r = s.route();
    CHECK(attempt_list(r.attempts) == s.model_then({"timeout"}));
    CHECK_THAT(r.attempts[0].error, Catch::Contains("200 ms"));
    CHECK(r.attempts[0].latency_ms < 1500.0);
    CHECK(s.server.requests().size() == 1);

    entry.retry_timeouts = true;
    Served<TestType> retrying({}, entry);
    retrying.options.max_retries = 1;
    retrying.server.script({planner::testing::hang(), planner::testing::hang()});
    const auto again = retrying.route();
    CHECK(attempt_list(again.attempts) == retrying.model_then({"timeout", "timeout"}));
    CHECK(retrying.server.requests().size() == 2);
}

// --- Per-entry credentials --------------------------------------------------------------

TEST_CASE("two OpenAI-compatible servers each get their own key, and only theirs",
          "[servers][keys]") {
    ModelServerTraits first_traits;
    first_traits.api_key = "sk-llama-first-0001";
    first_traits.honours_nested_schema = false;  // answers `length`: the chain moves on
    ModelServerTraits second_traits;
    second_traits.api_key = "sk-vllm-second-0002";
    ProviderServer first;
    ProviderServer second;
    first.respond_with(simulated_model<OpenAIWire>(first_traits));
    second.respond_with(simulated_model<OpenAIWire>(second_traits));

    ModelEntry a = "openai/llama@" + first.url() + "/v1";
    a.api_key = first_traits.api_key;
    ModelEntry b = "openai/qwen@" + second.url() + "/v1";
    b.api_key = second_traits.api_key;
    auto options = planner::testing::fast_chain_options({a, b, "rules"});
    options.endpoints.openai_api_key = OpenAIWire::kKey;  // the hosted key: sent to neither
    const auto r = planner::make_chain_router(options)->route(planner::testing::event_messages());
    CHECK(attempt_list(r.attempts) == Attempts{a.spec + " truncated", b.spec + " success"});
    REQUIRE(first.requests().size() == 1);
    REQUIRE(second.requests().size() == 1);
    CHECK(first.requests()[0].header("Authorization") == "Bearer " + a.api_key);
    CHECK(second.requests()[0].header("Authorization") == "Bearer " + b.api_key);
    for (const auto& attempt : r.attempts) {
        CHECK(attempt.error.find("sk-") == std::string::npos);
        CHECK(attempt.model.find("sk-") == std::string::npos);
    }
}

TEMPLATE_TEST_CASE("a base-URL entry without its key gets 401, with it an answer",
                   "[servers][keys]", OllamaWire, OpenAIWire, AnthropicWire) {
    ModelServerTraits traits;
    traits.api_key = "key-of-the-lan-box-42";
    ProviderServer server;
    server.respond_with(simulated_model<TestType>(traits));
    const std::string base = server.url() + (std::is_same_v<TestType, OllamaWire> ? "" : "/v1");
    const std::string url = std::is_same_v<TestType, AnthropicWire> ? server.url() : base;
    ModelEntry entry = TestType::spec() + "@" + url;

    auto options = planner::testing::fast_chain_options({entry, "rules"});
    TestType::point_at(options, "http://127.0.0.1:1");  // its home key must not go to the box
    auto r = planner::make_chain_router(options)->route(planner::testing::event_messages());
    CHECK(attempt_list(r.attempts) == Attempts{entry.spec + " error", "rules success"});
    CHECK_THAT(r.attempts[0].error, Catch::StartsWith("HTTP 401"));

    entry.api_key = traits.api_key;
    options.models = {entry, "rules"};
    r = planner::make_chain_router(options)->route(planner::testing::event_messages());
    CHECK(r.model_used == entry.spec);
    const auto requests = server.requests();
    REQUIRE(requests.size() == 2);
    CHECK_FALSE(requests[0].has_header("Authorization"));
    CHECK_FALSE(requests[0].has_header("x-api-key"));
    CHECK(TestType::authorized(requests[1], traits.api_key));
}

TEST_CASE("an entry's key goes to its provider's default endpoint when it has no base URL",
          "[servers][keys]") {
    ModelServerTraits traits;
    traits.api_key = "sk-entry-own-key-7";
    ModelEntry entry = OpenAIWire::spec();
    entry.api_key = traits.api_key;
    Served<OpenAIWire> s(traits, entry);  // point_at sets the endpoint's own key too: overridden
    CHECK(s.route().model_used == OpenAIWire::spec());
    CHECK(s.server.requests()[0].header("Authorization") == "Bearer " + traits.api_key);
}

TEST_CASE("an entry key with control characters is refused without echoing it", "[servers][keys]") {
    ModelEntry entry = "openai/m@http://127.0.0.1:9/v1";
    entry.api_key = "sk-secret\r\nX-Injected: 1";
    auto options = planner::testing::fast_chain_options({entry});
    try {
        planner::make_chain_router(options);
        FAIL("accepted");
    } catch (const std::invalid_argument& e) {
        CHECK_THAT(e.what(), Catch::Contains("control characters"));
        CHECK(std::string(e.what()).find("sk-secret") == std::string::npos);
    }
}

// --- Context that fits ------------------------------------------------------------------

TEST_CASE("ollama gets num_ctx that fits the prompt and the answer, and keep_alive",
          "[servers][context]") {
    ModelServerTraits small_default;
    small_default.n_ctx = 512;  // what the server would use without num_ctx: too small
    Served<OllamaWire> s(small_default);
    const auto r = s.route();
    CHECK(r.model_used == OllamaWire::spec());
    const auto sent = s.sent();
    CHECK(sent["keep_alive"] == "1800s");
    const int num_ctx = sent["options"]["num_ctx"];
    CHECK(num_ctx == planner::detail::default_num_ctx(event_prompt_bytes(), 512));
    CHECK(num_ctx >= 4096);
    CHECK(num_ctx >= planner::testing::simulated_tokens(event_prompt_bytes()) + 512);

    ModelEntry entry = OllamaWire::spec();
    entry.num_ctx = 16384;
    entry.keep_alive = std::chrono::minutes{5};
    Served<OllamaWire> chosen(small_default, entry);
    chosen.route();
    CHECK(chosen.sent()["options"]["num_ctx"] == 16384);
    CHECK(chosen.sent()["keep_alive"] == "300s");
}

TEST_CASE("the default num_ctx is a power of two that grows with the prompt",
          "[servers][context]") {
    using planner::detail::default_num_ctx;
    CHECK(default_num_ctx(0, 512) == 4096);
    CHECK(default_num_ctx(6000, 512) == 4096);
    CHECK(default_num_ctx(20'000, 512) == 16384);
    CHECK(default_num_ctx(20'000, 8000) == 32768);
}

TEMPLATE_TEST_CASE("a prompt cut to the server's context is refused with both numbers",
                   "[servers][context]", OllamaWire, OpenAIWire) {
    ModelServerTraits tiny;
    tiny.n_ctx = 256;  // llama-server -c 256: the prompt is about 400 simulated tokens
    ModelEntry entry = TestType::spec();
    entry.num_ctx = 256;  // Ollama: the entry's choice, too small
    Served<TestType> s(tiny, entry);
    s.options.max_retries = 1;
    const auto r = s.route();
    CHECK(attempt_list(r.attempts) == s.model_then({"prompt_truncated"}));
    const auto bytes = event_prompt_bytes();
    CHECK_THAT(r.attempts[0].error,
               Catch::Contains("it read 128 tokens of a " + std::to_string(bytes) +
                               "-byte prompt (at least " + std::to_string(bytes / 5) + " tokens)"));
    CHECK(s.server.requests().size() == 1);
    CHECK(planner::to_string(planner::AttemptStatus::prompt_truncated) == "prompt_truncated");
}

TEST_CASE("llama.cpp's truncated flag is believed even when the count looks whole",
          "[servers][context]") {
    ProviderServer server;
    Generation g;
    g.prompt_tokens = 100'000;
    g.truncated_flag = true;
    server.script({OpenAIWire::reply(valid_proposal().dump(), g)});
    auto options = planner::testing::fast_chain_options({OpenAIWire::spec(), "rules"});
    OpenAIWire::point_at(options, server.url());
    const auto r = planner::make_chain_router(options)->route(planner::testing::event_messages());
    CHECK(attempt_list(r.attempts) ==
          Attempts{OpenAIWire::spec() + " prompt_truncated", "rules success"});
    CHECK_THAT(r.attempts[0].error, Catch::StartsWith("the server truncated the prompt: it read "
                                                      "100000 tokens"));
}

TEST_CASE("a server that reads the whole prompt, or reports nothing, is believed",
          "[servers][context]") {
    ModelServerTraits roomy;
    roomy.reports_truncation = true;
    Served<OpenAIWire> s(roomy);
    CHECK(s.route().model_used == OpenAIWire::spec());

    // Ollama before 0.2 left prompt_eval_count out when the prompt was cached.
    ProviderServer server;
    server.script({OllamaWire::answer(valid_proposal().dump())});
    auto options = planner::testing::fast_chain_options({OllamaWire::spec()});
    OllamaWire::point_at(options, server.url());
    CHECK(
        planner::make_chain_router(options)->route(planner::testing::event_messages()).model_used ==
        OllamaWire::spec());
}

// --- Options ----------------------------------------------------------------------------

TEST_CASE("bad per-entry settings are refused with the entry's name", "[servers]") {
    const auto refused = [](ModelEntry entry, const std::string& mention) {
        INFO(mention);
        auto options = planner::testing::fast_chain_options({entry, "rules"});
        CHECK_THROWS_WITH(planner::make_chain_router(options),
                          Catch::Contains("model 'ollama/m'") && Catch::Contains(mention));
    };
    ModelEntry e = "ollama/m";
    e.max_tokens = 0;
    refused(e, "max_tokens must be at least 1");
    e = "ollama/m";
    e.timeout = 0ms;
    refused(e, "timeout must be positive");
    e = "ollama/m";
    e.num_ctx = 0;
    refused(e, "num_ctx must be at least 1");
}
