#pragma once

/// \file
/// The production LLMRouter: a local-first chain of models that validates every answer.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "planner/clock.hpp"
#include "planner/http_transport.hpp"
#include "planner/router.hpp"

namespace planner {

/// Where each provider lives and how to authenticate. Defaults follow each ecosystem's
/// conventions; from_environment() reads the usual variables.
struct ProviderEndpoints {
    std::string ollama_base_url = "http://127.0.0.1:11434";
    std::string openai_base_url = "https://api.openai.com/v1";  ///< includes /v1
    std::string openai_api_key;
    std::string anthropic_base_url = "https://api.anthropic.com";
    std::string anthropic_api_key;

    /// OLLAMA_HOST or OLLAMA_BASE_URL, OPENAI_BASE_URL, OPENAI_API_KEY, ANTHROPIC_BASE_URL,
    /// ANTHROPIC_API_KEY; unset variables keep the defaults above.
    static ProviderEndpoints from_environment();
};

/// One entry of the chain: `ollama/<model>`, `openai/<model>`, `anthropic/<model>` or `rules`,
/// optionally followed by `@<base-url>` to give that entry its own server.
struct ModelSpec {
    std::string provider;  ///< "ollama" | "openai" | "anthropic" | "rules"
    std::string model;     ///< empty for rules
    std::string base_url;  ///< empty: the provider's endpoint from ProviderEndpoints

    /// The spec as written, e.g. "ollama/qwen2.5:7b@http://gpu:11434"; names attempts.
    std::string text() const;
};

/// Throws std::invalid_argument with a one-line reason for a malformed spec.
ModelSpec parse_model_spec(std::string_view spec);

/// How the chain behaves; plain data with working defaults.
struct ChainRouterOptions {
    std::vector<std::string> models{"ollama/qwen2.5:7b", "rules"};
    ProviderEndpoints endpoints{};
    std::chrono::milliseconds attempt_timeout{60'000};  ///< whole request, connect included
    int max_retries = 1;                                ///< per model, for retryable failures
    std::chrono::milliseconds backoff_initial{500};
    std::chrono::milliseconds backoff_max{8'000};
    std::chrono::milliseconds retry_after_cap{30'000};
    int failures_before_cooldown = 3;
    std::chrono::milliseconds provider_cooldown{60'000};
    /// Anthropic requires a cap on the answer's length; a proposal needs a few hundred tokens.
    int max_output_tokens = 1024;

    // Seams for embedders and tests; left empty, the real thing is used.
    std::shared_ptr<HttpTransport> transport;              ///< null: make_curl_transport()
    SteadyTimeSource clock;                                ///< cooldowns and latencies
    std::function<void(std::chrono::milliseconds)> sleep;  ///< backoff between retries
};

/// Builds the chain. Throws std::invalid_argument for a malformed spec or option.
std::unique_ptr<LLMRouter> make_chain_router(const ChainRouterOptions& options);

}  // namespace planner
