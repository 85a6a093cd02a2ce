#include <catch2/catch.hpp>

#include <stdexcept>

#include <planner/chain_router.hpp>

using planner::ModelSpec;
using planner::parse_model_spec;

TEST_CASE("model specs name a provider and a model", "[model_spec]") {
    const auto ollama = parse_model_spec("ollama/qwen2.5:7b");
    CHECK(ollama.provider == "ollama");
    CHECK(ollama.model == "qwen2.5:7b");
    CHECK(ollama.base_url.empty());

    const auto openai = parse_model_spec("openai/meta-llama/Llama-3.1-8B-Instruct");
    CHECK(openai.provider == "openai");
    CHECK(openai.model == "meta-llama/Llama-3.1-8B-Instruct");  // vLLM names keep their slash

    const auto anthropic = parse_model_spec("  anthropic/claude-3-5-haiku-latest\n");
    CHECK(anthropic.provider == "anthropic");
    CHECK(anthropic.model == "claude-3-5-haiku-latest");

    const auto rules = parse_model_spec("rules");
    CHECK(rules.provider == "rules");
    CHECK(rules.model.empty());
    CHECK(rules.text() == "rules");
}

TEST_CASE("a spec may point its entry at its own server", "[model_spec]") {
    const auto spec = parse_model_spec("ollama/qwen2.5:7b@http://gpu.lan:11434/");
    CHECK(spec.model == "qwen2.5:7b");
    CHECK(spec.base_url == "http://gpu.lan:11434");
    CHECK(spec.text() == "ollama/qwen2.5:7b@http://gpu.lan:11434");

    const auto openai = parse_model_spec("openai/local@https://llm.lan:8443/v1");
    CHECK(openai.base_url == "https://llm.lan:8443/v1");
    CHECK(parse_model_spec(openai.text()).text() == openai.text());
}

TEST_CASE("malformed specs are refused with a one-line reason", "[model_spec]") {
    const auto reason = [](std::string_view spec) {
        try {
            parse_model_spec(spec);
        } catch (const std::invalid_argument& e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    CHECK_THAT(reason(""), Catch::Contains("empty model spec"));
    CHECK_THAT(reason("   "), Catch::Contains("empty model spec"));
    CHECK_THAT(reason("qwen2.5"), Catch::Contains("must be provider/model"));
    CHECK_THAT(reason("gemini/pro"), Catch::Contains("unknown provider 'gemini'"));
    CHECK_THAT(reason("ollama/"), Catch::Contains("names no model"));
    CHECK_THAT(reason("ollama/@http://gpu:11434"), Catch::Contains("names no model"));
    CHECK_THAT(reason("ollama/qwen@"), Catch::Contains("empty base URL"));
    CHECK_THAT(reason("ollama/qwen@gpu:11434"), Catch::Contains("http:// or https://"));
    CHECK_THAT(reason("ollama/qwen@ftp://gpu"), Catch::Contains("http:// or https://"));
    CHECK_THAT(reason("ollama/qwen@http://"), Catch::Contains("names no host"));
    CHECK_THAT(reason("ollama/qwen@http://gpu/?x=1"), Catch::Contains("query"));
    CHECK_THAT(reason("ollama/qwen 7b"), Catch::Contains("whitespace"));
    CHECK_THAT(reason("rules/x"), Catch::Contains("'rules' takes no model"));
    CHECK_THAT(reason("rules@http://x"), Catch::Contains("'rules' takes no model"));
    for (const auto* spec :
         {"", "qwen", "gemini/pro", "ollama/", "ollama/q@", "ollama/q@gpu", "ollama/a\nb"}) {
        const auto why = reason(spec);
        INFO(why);
        CHECK(why != "accepted");
        CHECK(why.find('\n') == std::string::npos);
    }
}

TEST_CASE("credentials in a base URL are refused without being repeated", "[model_spec]") {
    try {
        parse_model_spec("openai/m@https://user:hunter2@llm.lan/v1");
        FAIL("a URL with credentials was accepted");
    } catch (const std::invalid_argument& e) {
        const std::string what = e.what();
        CHECK_THAT(what, Catch::Contains("credentials"));
        CHECK(what.find("hunter2") == std::string::npos);
        // The spec is quoted through redact_url: the user name stays, the password is masked.
        CHECK_THAT(what, Catch::Contains("https://user:***@llm.lan/v1"));
    }
}
