// Every model failure mode of the router tests (tests/router/test_http_scenarios.cpp and the
// provider files), through planner-run end to end: one replayed event, a scripted model server
// per run, the chain `<model>,rules` with planner-run's real retry and backoff settings. Each run
// checks what an operator sees: the log line (which model answered, every failed attempt with a
// one-line reason), the action file (a fallback still obeys the house rules), exit status 0, and
// no API key in anything written. Waits are on process exit with a deadline, never on sleeps.

#ifdef PLANNER_RUN_PATH

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "support/planner_run_process.hpp"
#include "support/process.hpp"
#include "support/provider_server.hpp"
#include "support/temp_dir.hpp"
#include "support/wire_formats.hpp"

using namespace planner::testing;
using namespace std::chrono_literals;
using nlohmann::json;
using Env = std::vector<std::pair<std::string, std::string>>;

namespace {

/// How planner-run reaches each wire format's server. Ollama as a LAN box with its own
/// `@base-url` (such an entry is sent no key); the hosted APIs through their base-URL and key
/// variables, since a key goes only to the provider's configured endpoint.
struct Ollama {
    using Wire = OllamaWire;
    static std::string key() { return {}; }
    static std::string model(const std::string& url) { return Wire::spec() + "@" + url; }
    static Env env(const std::string&) { return {}; }
    static bool sent_key(const RecordedRequest& r) {
        return !r.has_header("Authorization") && !r.has_header("x-api-key");
    }
};
struct OpenAI {
    using Wire = OpenAIWire;
    static std::string key() { return Wire::kKey; }
    static std::string model(const std::string&) { return Wire::spec(); }
    static Env env(const std::string& url) {
        return {{"OPENAI_BASE_URL", url + "/v1"}, {"OPENAI_API_KEY", key()}};
    }
    static bool sent_key(const RecordedRequest& r) {
        return r.header("Authorization") == "Bearer " + key();
    }
};
struct Anthropic {
    using Wire = AnthropicWire;
    static std::string key() { return Wire::kKey; }
    static std::string model(const std::string&) { return Wire::spec(); }
    static Env env(const std::string& url) {
        return {{"ANTHROPIC_BASE_URL", url}, {"ANTHROPIC_API_KEY", key()}};
    }
    static bool sent_key(const RecordedRequest& r) { return r.header("x-api-key") == key(); }
};

struct Setup {
    bool rules_fallback = true;      ///< false: the wire's model is the whole chain
    std::string llm_timeout = "10";  ///< seconds; only the hang case needs it short
    std::optional<std::string> url;  ///< the model's base URL; default: the scripted server
    std::vector<std::string> services{"mosquitto"};  ///< one replayed event each, in order
};

/// One planner-run over a replay file against a scripted server, run to its exit.
template <class T>
struct ModelRun {
    TempDir tmp;
    ProviderServer server;
    std::string model;  ///< the wire's entry as attempts name it
    std::unique_ptr<PlannerRunProcess> process;
    std::optional<int> exit_code;
    std::chrono::duration<double> elapsed{};
    std::vector<json> lines;

    explicit ModelRun(std::vector<ScriptedReply> replies, Setup setup = {}) {
        server.script(std::move(replies));
        const std::string url = setup.url.value_or(server.url());
        model = T::model(url);
        std::string events;
        for (const auto& s : setup.services) {
            events += json{{"type", "service_unhealthy"}, {"node", "piha"}, {"service", s}}.dump();
            events += "\n";
        }
        std::FILE* f = std::fopen((tmp / "events.jsonl").c_str(), "w");
        REQUIRE(f != nullptr);
        std::fputs(events.c_str(), f);
        std::fclose(f);
        std::vector<std::string> args{"--replay",      (tmp / "events.jsonl").string(),
                                      "--model",       model,
                                      "--llm-timeout", setup.llm_timeout,
                                      "--actions-dir", (tmp / "actions").string(),
                                      "--events-dir",  (tmp / "events").string(),
                                      "--node",        "solaria"};
        if (setup.rules_fallback) {
            args.emplace_back("--model");
            args.emplace_back("rules");
        }
        const auto started = std::chrono::steady_clock::now();
        process = std::make_unique<PlannerRunProcess>(kPlannerRun, tmp, args, T::env(url));
        exit_code = process->wait(60s);
        elapsed = std::chrono::steady_clock::now() - started;
        lines = process->log_lines();
        INFO(process->stderr_text());
        REQUIRE(exit_code.has_value());
        for (const auto& l : lines) CHECK_FALSE(l.contains("unparsed"));
    }

    /// Log lines with `event`, in order.
    std::vector<json> logged(const std::string& event) const {
        std::vector<json> out;
        for (const auto& l : lines) {
            // Not l.value("event", ""): GCC 12 warns falsely of a null dereference in it.
            if (l.contains("event") && l["event"] == event) out.push_back(l);
        }
        return out;
    }

    std::vector<json> action_files() const {
        std::vector<json> out;
        for (const auto& f : files_under(tmp / "actions")) out.push_back(json::parse(read_text(f)));
        return out;
    }

    /// Every attempt of one planned event as "model status": from the proposal's
    /// failed_attempts and its model, or from chain_failed.
    static std::vector<std::string> statuses(const json& line) {
        std::vector<std::string> out;
        const bool failed = line["event"] == "chain_failed";
        for (const auto& a : line.value(failed ? "attempts" : "failed_attempts", json::array())) {
            out.push_back(a["model"].get<std::string>() + " " + a["status"].get<std::string>());
        }
        if (!failed) out.push_back(line["model"].get<std::string>() + " success");
        return out;
    }

    /// `model status` for each status, then rules' success when `rules_last`.
    std::vector<std::string> expected(std::initializer_list<const char*> wire_statuses,
                                      bool rules_last) const {
        std::vector<std::string> out;
        for (const auto* s : wire_statuses) out.push_back(model + " " + s);
        if (rules_last) out.emplace_back("rules success");
        return out;
    }

    /// The key reached every request and nothing planner-run wrote: stdout, stderr, files.
    void check_key() const {
        for (const auto& r : server.requests()) CHECK(T::sent_key(r));
        if (T::key().empty()) return;
        for (const auto& f : files_under(tmp.path())) {
            INFO(f);
            CHECK(read_text(f).find(T::key()) == std::string::npos);
        }
    }
};

/// A failed attempt's reason is one readable line naming the cause.
void check_one_liner(const json& attempt, const std::string& mention) {
    INFO(attempt.dump());
    const auto error = attempt.at("error").get<std::string>();
    CHECK_FALSE(error.empty());
    CHECK(error.size() <= 503);  // printable() cuts at 500 and appends "..."
    CHECK(std::none_of(error.begin(), error.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x20; }));
    CHECK_THAT(error, Catch::Contains(mention, Catch::CaseSensitive::No));
    CHECK(attempt.at("latency_ms").is_number());
}

/// The wire's model answered after the failures in `before`; its proposal is on disk.
template <class T>
void check_answered(const ModelRun<T>& run, std::initializer_list<const char*> before,
                    const std::string& mention = {}) {
    INFO(run.process->stderr_text());
    CHECK(run.exit_code == 0);
    const auto written = run.logged("proposal_written");
    REQUIRE(written.size() == 1);
    std::vector<const char*> all(before);
    all.push_back("success");
    std::vector<std::string> want;
    for (const auto* s : all) want.push_back(run.model + " " + s);
    CHECK(run.statuses(written[0]) == want);
    CHECK(written[0]["attempts"] == all.size());
    for (const auto& a : written[0].value("failed_attempts", json::array())) {
        check_one_liner(a, mention);
    }
    CHECK(run.server.requests().size() == all.size());
    const auto files = run.action_files();
    REQUIRE(files.size() == 1);
    CHECK(files[0]["llm_model"] == run.model);
    CHECK(files[0]["llm_attempts"] == all.size());
    CHECK(files[0]["payload"]["action"] == "restart");
    CHECK(files[0]["payload"]["reason"] == valid_proposal()["reason"]);
    CHECK(files[0]["requires_human"] == false);  // 0.9 on piha: the model's call stands
    run.check_key();
}

/// Every try of the wire's model failed with `wire_statuses`, the first naming `mention`; the
/// rules provider answered and its proposal obeys the house rules.
template <class T>
void check_fallback(const ModelRun<T>& run, std::initializer_list<const char*> wire_statuses,
                    const std::string& mention, bool server_asked = true) {
    INFO(run.process->stderr_text());
    CHECK(run.exit_code == 0);
    const auto written = run.logged("proposal_written");
    REQUIRE(written.size() == 1);
    CHECK(run.statuses(written[0]) == run.expected(wire_statuses, true));
    CHECK(written[0]["model"] == "rules");
    CHECK(written[0]["requires_human"] == true);
    const auto& failed = written[0]["failed_attempts"];
    REQUIRE(failed.size() == wire_statuses.size());
    check_one_liner(failed[0], mention);
    for (const auto& a : failed) check_one_liner(a, "");
    CHECK(run.server.requests().size() == (server_asked ? wire_statuses.size() : 0));
    const auto files = run.action_files();
    REQUIRE(files.size() == 1);
    CHECK(files[0]["llm_model"] == "rules");
    CHECK(files[0]["llm_attempts"] == wire_statuses.size() + 1);
    CHECK(files[0]["payload"]["action"] == "restart");
    CHECK(files[0]["requires_human"] == true);
    CHECK(files[0]["confidence"] == 0.5);
    CHECK_THAT(files[0]["payload"]["reason"].template get<std::string>(),
               Catch::StartsWith("rules:"));
    CHECK(files[0]["node"] == "piha");
    CHECK(files[0]["service"] == "mosquitto");
    run.check_key();
}

template <class T>
ScriptedReply answer(const std::string& text) {
    return T::Wire::answer(text);
}
template <class T>
ScriptedReply error(int status, const std::string& message, Headers headers = {}) {
    return T::Wire::error(status, message, std::move(headers));
}

}  // namespace

// --- Answers the chain accepts -----------------------------------------------------------

TEMPLATE_TEST_CASE("models: a valid answer is written as the model's proposal", "[faults][models]",
                   Ollama, OpenAI, Anthropic) {
    ModelRun<TestType> run({answer<TestType>(valid_proposal().dump())});
    check_answered(run, {});
    CHECK_FALSE(run.logged("proposal_written")[0].contains("failed_attempts"));
}

TEMPLATE_TEST_CASE("models: an answer in a fenced code block is accepted", "[faults][models]",
                   Ollama, OpenAI, Anthropic) {
    ModelRun<TestType> run({answer<TestType>("Here is the proposal:\n```json\n" +
                                             valid_proposal().dump(2) + "\n```")});
    check_answered(run, {});
}

TEMPLATE_TEST_CASE("models: an answer embedded in prose is accepted", "[faults][models]", Ollama,
                   OpenAI, Anthropic) {
    ModelRun<TestType> run({answer<TestType>("The broker is down, so I suggest " +
                                             valid_proposal().dump() + " and nothing else.")});
    check_answered(run, {});
}

// --- Failures that fall back to rules ----------------------------------------------------

TEMPLATE_TEST_CASE("models: a schema-invalid answer falls back at once", "[faults][models]", Ollama,
                   OpenAI, Anthropic) {
    ModelRun<TestType> run({answer<TestType>(proposal_with("action", "reboot").dump())});
    check_fallback(run, {"invalid"}, "does not match the schema: /action");
}

TEMPLATE_TEST_CASE("models: HTTP 500 is retried once, then rules answers", "[faults][models]",
                   Ollama, OpenAI, Anthropic) {
    ModelRun<TestType> run(
        {error<TestType>(500, "CUDA out of memory"), error<TestType>(500, "CUDA out of memory")});
    check_fallback(run, {"error", "error"}, "HTTP 500: CUDA out of memory");
}

TEMPLATE_TEST_CASE("models: 404 model not found falls back without a retry", "[faults][models]",
                   Ollama, OpenAI, Anthropic) {
    ModelRun<TestType> run({error<TestType>(404, "model 'qwen2.5:7b' not found, try pulling it")});
    check_fallback(run, {"error"}, "HTTP 404: model 'qwen2.5:7b' not found");
}

TEMPLATE_TEST_CASE("models: 401 bad key falls back without a retry, the echoed key redacted",
                   "[faults][models]", Ollama, OpenAI, Anthropic) {
    const std::string echoed = TestType::key().empty() ? "none" : TestType::key();
    ModelRun<TestType> run({error<TestType>(401, "Incorrect API key provided: " + echoed)});
    check_fallback(run, {"error"}, "HTTP 401: Incorrect API key provided");
    if (!TestType::key().empty()) {
        CHECK_THAT(run.logged("proposal_written")[0]["failed_attempts"][0]["error"]
                       .template get<std::string>(),
                   Catch::Contains("[redacted]"));
    }
}

// A timeout is not retried on the same model (issue 18): it already cost the whole limit, so
// one hanging server costs one timeout per event, not two.
TEMPLATE_TEST_CASE("models: a server that never answers costs one attempt timeout",
                   "[faults][models]", Ollama, OpenAI, Anthropic) {
    Setup setup;
    setup.llm_timeout = "0.5";
    ModelRun<TestType> run({hang(), hang()}, setup);
    check_fallback(run, {"timeout"}, "no answer within 500 ms");
    const auto written =
        run.logged("proposal_written");  // named: ranging over a part of a temporary dangles
    for (const auto& a : written.at(0)["failed_attempts"]) {
        CHECK(a["latency_ms"] >= 450.0);
        CHECK(a["latency_ms"] < 5000.0);
    }
    CHECK(run.elapsed >= 500ms);  // one timeout of 0.5 s
}

TEMPLATE_TEST_CASE("models: an answer cut at its cap is `truncated`, not invalid, not retried",
                   "[faults][models]", Ollama, OpenAI, Anthropic) {
    Generation cut;
    cut.hit_cap = true;
    const auto partial = valid_proposal().dump().substr(0, 40);
    ModelRun<TestType> run(
        {TestType::Wire::reply(partial, cut), TestType::Wire::reply(partial, cut)});
    check_fallback(run, {"truncated"}, "the answer hit its cap of 512 tokens");
    REQUIRE(run.server.requests().size() == 1);
    CHECK(TestType::Wire::token_cap(run.server.requests()[0].json()) == 512);
}

TEMPLATE_TEST_CASE("models: an answer to a prompt the server cut is refused with both numbers",
                   "[faults][models]", Ollama, OpenAI) {
    Generation small_context;
    // A context far smaller than the prompt: the server kept 120 tokens of it. (Issue 18's
    // llama-server -c 512 kept 282 of a prompt that then also listed every node; the system
    // prompt no longer does, so the same cut is modelled on today's shorter prompt.)
    small_context.prompt_tokens = 120;
    ModelRun<TestType> run({TestType::Wire::reply(valid_proposal().dump(), small_context)});
    check_fallback(run, {"prompt_truncated"},
                   "the server read only part of the prompt: it read 120");
}

TEMPLATE_TEST_CASE("models: a closed port is a retried transport error", "[faults][models]", Ollama,
                   OpenAI, Anthropic) {
    Setup setup;
    setup.url = "http://127.0.0.1:" + std::to_string(closed_port());
    ModelRun<TestType> run({}, setup);
    check_fallback(run, {"error", "error"}, "connect", /*server_asked=*/false);
}

TEMPLATE_TEST_CASE("models: a body above 4 MiB is refused and not asked for again",
                   "[faults][models]", Ollama, OpenAI, Anthropic) {
    // A valid answer padded past the cap with a field the reader would ignore.
    auto runaway = answer<TestType>(valid_proposal().dump());
    auto body = json::parse(runaway.body);
    body["padding"] = std::string(4 << 20, 'x');
    runaway.body = body.dump();
    ModelRun<TestType> run({runaway, runaway});
    check_fallback(run, {"error"}, "response larger than 4194304 bytes");
}

TEMPLATE_TEST_CASE("models: a redirect is not followed, so the key stays put", "[faults][models]",
                   Ollama, OpenAI, Anthropic) {
    ProviderServer elsewhere;
    elsewhere.script({answer<TestType>(valid_proposal().dump())});
    ModelRun<TestType> run({{307, "", {{"Location", elsewhere.url() + "/steal"}}, false}});
    check_fallback(run, {"error"},
                   "HTTP 307: redirect not followed (to " + elsewhere.url() + "/steal)");
    CHECK(elsewhere.requests().empty());
}

// --- Failures the provider recovers from -------------------------------------------------

TEMPLATE_TEST_CASE("models: 429 is retried after the server's Retry-After", "[faults][models]",
                   Ollama, OpenAI, Anthropic) {
    ModelRun<TestType> run({error<TestType>(429, "rate limited", {{"Retry-After", "1"}}),
                            answer<TestType>(valid_proposal().dump())});
    check_answered(run, {"error"}, "HTTP 429: rate limited");
    CHECK(run.elapsed >= 1s);  // the default backoff would pause 0.5 s at most
}

TEMPLATE_TEST_CASE("models: a Retry-After above the cap falls back at once", "[faults][models]",
                   Ollama, OpenAI, Anthropic) {
    ModelRun<TestType> run({error<TestType>(429, "quota exceeded", {{"Retry-After", "120"}})});
    check_fallback(run, {"error"}, "HTTP 429: quota exceeded");
    CHECK_THAT(run.logged("proposal_written")[0]["failed_attempts"][0]["error"]
                   .template get<std::string>(),
               Catch::EndsWith("Retry-After is above the cap, not retried"));
    CHECK(run.elapsed < 30s);
}

TEMPLATE_TEST_CASE("models: 529 overloaded is retried and the model answers", "[faults][models]",
                   Ollama, OpenAI, Anthropic) {
    ModelRun<TestType> run(
        {error<TestType>(529, "Overloaded"), answer<TestType>(valid_proposal().dump())});
    check_answered(run, {"error"}, "HTTP 529: Overloaded");
}

// --- Across events and without a fallback -----------------------------------------------

TEMPLATE_TEST_CASE("models: a provider failing on every event cools down and is skipped",
                   "[faults][models]", Ollama, OpenAI, Anthropic) {
    Setup setup;
    setup.services = {"first", "second", "third"};
    const auto busy = error<TestType>(503, "server busy");
    ModelRun<TestType> run({busy, busy, busy, busy}, setup);
    INFO(run.process->stderr_text());
    CHECK(run.exit_code == 0);
    const auto written = run.logged("proposal_written");
    REQUIRE(written.size() == 3);
    // Three failures in a row start the cooldown: the second event's retry is not made (nor
    // waited for) and the third event does not ask at all.
    CHECK(run.statuses(written[0]) == run.expected({"error", "error"}, true));
    CHECK(run.statuses(written[1]) == run.expected({"error"}, true));
    CHECK(run.statuses(written[2]) == run.expected({"skipped"}, true));
    check_one_liner(written[2]["failed_attempts"][0], "cooling down after 3 failures");
    CHECK(run.server.requests().size() == 3);
    for (const auto& f : run.action_files()) CHECK(f["llm_model"] == "rules");
    run.check_key();
}

TEMPLATE_TEST_CASE("models: when the only model fails, chain_failed and no action file",
                   "[faults][models]", Ollama, OpenAI, Anthropic) {
    Setup setup;
    setup.rules_fallback = false;
    ModelRun<TestType> run(
        {error<TestType>(503, "loading model"), error<TestType>(503, "loading model")}, setup);
    INFO(run.process->stderr_text());
    CHECK(run.exit_code == 0);  // the end of --replay is a clean stop, whatever was planned
    const auto failed = run.logged("chain_failed");
    REQUIRE(failed.size() == 1);
    CHECK(failed[0]["level"] == "warn");
    CHECK(failed[0]["key"] == "piha/mosquitto");
    CHECK(run.statuses(failed[0]) == run.expected({"error", "error"}, false));
    for (const auto& a : failed[0]["attempts"]) check_one_liner(a, "HTTP 503: loading model");
    const auto summary = failed[0]["error"].template get<std::string>();
    CHECK(summary.find('\n') == std::string::npos);
    CHECK_THAT(summary, Catch::StartsWith("no model gave a valid answer: " + run.model + " error"));
    CHECK(run.logged("proposal_written").empty());
    CHECK(files_under(run.tmp / "actions").empty());
    CHECK(files_under(run.tmp / "events").empty());
    REQUIRE_FALSE(run.lines.empty());
    CHECK(run.lines.back()["event"] == "planner_stopped");
    CHECK(run.lines.back()["chain_failures"] == 1);
    CHECK(run.lines.back()["routed"] == 1);
    run.check_key();
}

// --- Provider-specific bodies ------------------------------------------------------------

/// Bodies a server answers with status 200 that are not an answer, per provider: each falls
/// back to rules at once with `status` and a reason that names the problem.
struct OddBody {
    int status;
    std::string body;
    const char* attempt_status;
    std::string mention;
};

template <class T>
void check_odd_bodies(const std::vector<OddBody>& cases) {
    for (const auto& c : cases) {
        INFO(c.body);
        ModelRun<T> run({{c.status, c.body, {}, false}});
        check_fallback(run, {c.attempt_status}, c.mention);
    }
}

TEST_CASE("models: ollama bodies that are not an answer fall back to rules", "[faults][models]") {
    check_odd_bodies<Ollama>({
        {200, "<html>proxy error</html>", "error",
         "HTTP 200 with a body that is not a JSON object"},
        {200, R"({"model":"m","done":true})", "error", "response without message.content"},
        {200, R"({"message":{"role":"assistant","content":42}})", "error",
         "response without message.content"},
        {200, R"({"error":"unexpected EOF"})", "error", "unexpected EOF"},
    });
}

TEST_CASE("models: openai refusals, bodies without choices and vLLM's flat error fall back",
          "[faults][models]") {
    check_odd_bodies<OpenAI>({
        {200,
         R"({"choices":[{"index":0,"message":{"role":"assistant","content":null,)"
         R"("refusal":"I can't help with that."},"finish_reason":"stop"}]})",
         "invalid", "the model refused: I can't help with that."},
        {200, R"({"choices":[]})", "error", "response without choices[0].message.content"},
        {404,
         R"({"object":"error","message":"The model `gpt-x` does not exist.",)"
         R"("type":"NotFoundError","param":null,"code":404})",
         "error", "HTTP 404: The model `gpt-x` does not exist."},
    });
}

TEST_CASE("models: an anthropic answer without a tool_use block or text falls back",
          "[faults][models]") {
    check_odd_bodies<Anthropic>({
        {200, R"({"type":"message","role":"assistant","content":[],"stop_reason":"end_turn"})",
         "invalid", "response without a tool_use block"},
        {200, R"({"type":"message","role":"assistant"})", "error",
         "response without a content array"},
    });
}

#endif  // PLANNER_RUN_PATH
