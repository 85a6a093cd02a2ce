#include <catch2/catch.hpp>

#include <cstdlib>
#include <map>
#include <optional>
#include <string>

#include <planner/chain_router.hpp>

namespace {

/// Sets (or unsets, for nullopt) the provider variables for one scope and restores them after.
class ScopedEnv {
  public:
    explicit ScopedEnv(const std::map<std::string, std::optional<std::string>>& values) {
        for (const auto* name : {"OLLAMA_HOST", "OLLAMA_BASE_URL", "OPENAI_BASE_URL",
                                 "OPENAI_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY"}) {
            const char* old = std::getenv(name);
            saved_[name] = old ? std::optional<std::string>(old) : std::nullopt;
            ::unsetenv(name);
        }
        for (const auto& [name, value] : values) {
            if (value) ::setenv(name.c_str(), value->c_str(), 1);
        }
    }
    ~ScopedEnv() {
        for (const auto& [name, value] : saved_) {
            if (value) {
                ::setenv(name.c_str(), value->c_str(), 1);
            } else {
                ::unsetenv(name.c_str());
            }
        }
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

  private:
    std::map<std::string, std::optional<std::string>> saved_;
};

}  // namespace

TEST_CASE("without variables the endpoints keep each ecosystem's defaults", "[endpoints]") {
    ScopedEnv env({});
    const auto e = planner::ProviderEndpoints::from_environment();
    CHECK(e.ollama_base_url == "http://127.0.0.1:11434");
    CHECK(e.openai_base_url == "https://api.openai.com/v1");
    CHECK(e.openai_api_key.empty());
    CHECK(e.anthropic_base_url == "https://api.anthropic.com");
    CHECK(e.anthropic_api_key.empty());
}

TEST_CASE("the usual variables set URLs and keys", "[endpoints]") {
    ScopedEnv env({{"OLLAMA_BASE_URL", "http://gpu.lan:11434/"},
                   {"OPENAI_BASE_URL", "http://llama.lan:8080/v1/"},
                   {"OPENAI_API_KEY", "sk-openai"},
                   {"ANTHROPIC_BASE_URL", "https://proxy.lan"},
                   {"ANTHROPIC_API_KEY", "sk-ant"}});
    const auto e = planner::ProviderEndpoints::from_environment();
    CHECK(e.ollama_base_url == "http://gpu.lan:11434");
    CHECK(e.openai_base_url == "http://llama.lan:8080/v1");
    CHECK(e.openai_api_key == "sk-openai");
    CHECK(e.anthropic_base_url == "https://proxy.lan");
    CHECK(e.anthropic_api_key == "sk-ant");
}

TEST_CASE("OLLAMA_HOST is read as the ollama CLI reads it and wins", "[endpoints]") {
    const std::map<std::string, std::string> cases{
        {"gpu.lan", "http://gpu.lan:11434"},
        {"gpu.lan:8000", "http://gpu.lan:8000"},
        {"0.0.0.0", "http://0.0.0.0:11434"},
        {":11500", "http://127.0.0.1:11500"},
        {"[::1]", "http://[::1]:11434"},
        {"https://ollama.example.org", "https://ollama.example.org"},
        {"http://gpu.lan:11434/", "http://gpu.lan:11434"},
    };
    for (const auto& [host, expected] : cases) {
        ScopedEnv env({{"OLLAMA_HOST", host}, {"OLLAMA_BASE_URL", "http://ignored:1"}});
        INFO("OLLAMA_HOST=" << host);
        CHECK(planner::ProviderEndpoints::from_environment().ollama_base_url == expected);
    }
}

TEST_CASE("empty variables count as unset", "[endpoints]") {
    ScopedEnv env({{"OLLAMA_HOST", ""}, {"OPENAI_BASE_URL", ""}, {"ANTHROPIC_API_KEY", ""}});
    const auto e = planner::ProviderEndpoints::from_environment();
    CHECK(e.ollama_base_url == "http://127.0.0.1:11434");
    CHECK(e.openai_base_url == "https://api.openai.com/v1");
    CHECK(e.anthropic_api_key.empty());
}
