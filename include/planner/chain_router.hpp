#pragma once

/// \file
/// The production LLMRouter: a local-first chain of models that validates every answer.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
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

/// One entry of the chain and the settings that make a real server behave: a spec plus what
/// the configuration file says about it (YAML keys `spec, timeout, key_file, max_tokens,
/// schema_mode, num_ctx, keep_alive`). Converts implicitly from a spec, so
/// `options.models = {"ollama/qwen2.5:7b", "rules"}` keeps working. See docs/model-servers.md.
struct ModelEntry {
    /// Which request field carries the answer's cap on an OpenAI-compatible server.
    enum class TokenLimitField {
        automatic,             ///< max_completion_tokens on api.openai.com, max_tokens elsewhere
        max_tokens,            ///< what llama.cpp, vLLM and LM Studio read
        max_completion_tokens  ///< what OpenAI's reasoning models demand
    };
    /// How an OpenAI-compatible request asks for the schema.
    enum class SchemaMode {
        json_schema,  ///< `{type: json_schema, json_schema: {name, schema, strict}}`
        json_object   ///< `{type: json_object, schema}`: llama.cpp builds that drop the nested form
    };

    /// `provider/model[@base-url]` or `rules`; names the entry in attempts.
    std::string spec;
    /// The whole request's limit for this entry; unset: ChainRouterOptions::attempt_timeout.
    std::optional<std::chrono::milliseconds> timeout;
    /// Sent only to this entry's own base URL (the `@base-url` one, or the provider's default
    /// endpoint); wins over the provider's key there. Never logged, never in an attempt record.
    std::string api_key;
    /// The cap on the answer's length: `max_tokens`/`max_completion_tokens`, Ollama's
    /// `options.num_predict`, Anthropic's `max_tokens`. A proposal is about 100 tokens; a
    /// rambling model stops here instead of at the timeout.
    int max_tokens = 512;
    TokenLimitField token_limit_field = TokenLimitField::automatic;
    SchemaMode schema_mode = SchemaMode::json_schema;
    /// Ollama's context window (`options.num_ctx`); unset: one that fits the prompt and the
    /// answer, rounded up so it rarely changes (a change makes Ollama reload the model).
    std::optional<int> num_ctx;
    /// How long Ollama keeps the model loaded after a call (`keep_alive`).
    std::chrono::seconds keep_alive{1800};
    /// A timed-out attempt costs a whole timeout; by default the chain moves on instead of
    /// retrying it on the same model.
    bool retry_timeouts = false;

    ModelEntry() = default;
    ModelEntry(std::string spec_text) : spec(std::move(spec_text)) {}  // NOLINT: implicit
    ModelEntry(const char* spec_text) : spec(spec_text) {}             // NOLINT: implicit
};

/// How the chain behaves; plain data with working defaults.
struct ChainRouterOptions {
    std::vector<ModelEntry> models{"ollama/qwen2.5:7b", "rules"};
    ProviderEndpoints endpoints{};
    std::chrono::milliseconds attempt_timeout{60'000};  ///< whole request, connect included
    int max_retries = 1;                                ///< per model, for retryable failures
    std::chrono::milliseconds backoff_initial{500};
    std::chrono::milliseconds backoff_max{8'000};
    std::chrono::milliseconds retry_after_cap{30'000};
    int failures_before_cooldown = 3;
    std::chrono::milliseconds provider_cooldown{60'000};
    /// When set, replaces every entry's `max_tokens` (the chain-wide setting of earlier
    /// versions, once Anthropic-only); prefer ModelEntry::max_tokens.
    std::optional<int> max_output_tokens;

    // Seams for embedders and tests; left empty, the real thing is used.
    std::shared_ptr<HttpTransport> transport;              ///< null: make_curl_transport()
    SteadyTimeSource clock;                                ///< cooldowns and latencies
    std::function<void(std::chrono::milliseconds)> sleep;  ///< backoff between retries
};

/// Builds the chain. Throws std::invalid_argument for a malformed spec or option. The router's
/// route() is safe to call from several threads at once and throws std::invalid_argument for a
/// schema that is not a usable JSON schema. The provider's API keys go only to its configured
/// base URL, never to an entry with its own `@base-url`; an entry's own `api_key` goes only to
/// that entry's base URL. See docs/routing.md and docs/model-servers.md.
std::unique_ptr<LLMRouter> make_chain_router(const ChainRouterOptions& options);

}  // namespace planner
