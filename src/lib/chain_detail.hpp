#pragma once

// Internals of the chain router shared between its source files; not installed.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "planner/chain_router.hpp"

namespace planner::detail {

/// `url` checked and without a trailing slash; throws std::invalid_argument naming `owner`
/// (e.g. "OPENAI_BASE_URL" or a spec) but never repeating credentials.
std::string normalize_base_url(std::string_view url, std::string_view owner);

/// `text` fit for a one-line message: control characters replaced, long text cut, and the
/// user:password part of a URL masked.
std::string printable(std::string_view text, std::size_t max_bytes = 200);

/// What one call to a provider produced, before extraction and validation.
struct ProviderAnswer {
    AttemptStatus status = AttemptStatus::error;  ///< success: the model answered
    std::string text;                             ///< the answer as the model wrote it
    std::optional<nlohmann::json> object;         ///< set when the API returned an object
    std::string error;                            ///< one line, free of API keys
    bool retryable = false;
    std::optional<std::chrono::milliseconds> retry_after;  ///< from the Retry-After header
    /// Prompt tokens the server says it read (usage.prompt_tokens, prompt_eval_count).
    std::optional<long> prompt_tokens_read;
    bool server_truncated_prompt = false;  ///< the server said so (llama.cpp's `truncated`)
};

/// One entry of the chain. ask() never throws for a failure of the model or the network.
class ModelProvider {
  public:
    virtual ~ModelProvider() = default;
    virtual ProviderAnswer ask(const RouteRequest& request) = 0;
};

/// The provider for `spec`, configured from its chain entry and `options`; throws
/// std::invalid_argument when they cannot work for it (a bad base URL, a missing Anthropic key).
std::unique_ptr<ModelProvider> make_provider(const ModelSpec& spec, const ModelEntry& entry,
                                             const ChainRouterOptions& options,
                                             std::shared_ptr<HttpTransport> transport);

/// Tokens the planner's prompt of `bytes` bytes holds at least: the tokenizers of local models
/// (Llama 3, Qwen 2.5, Gemma, Mistral) average 3 to 4.5 bytes a token on its mix of prose and
/// JSON, and the chat template adds more, so a server reporting fewer than bytes / 5 has
/// dropped part of it. Loose on purpose: a whole prompt must never be refused.
constexpr long min_prompt_tokens(std::size_t bytes) noexcept {
    return static_cast<long>(bytes / 5);
}

/// Tokens a prompt of `bytes` bytes holds at most in practice (2 bytes a token), plus room for
/// the chat template; sizes Ollama's default num_ctx.
constexpr long max_prompt_tokens(std::size_t bytes) noexcept {
    return static_cast<long>(bytes / 2) + 256;
}

/// Ollama's num_ctx when the entry sets none: the prompt's upper estimate plus the answer,
/// rounded up to a power of two of at least 4096 so that it rarely changes between events
/// (Ollama reloads the model when it does).
constexpr int default_num_ctx(std::size_t prompt_bytes, int max_tokens) noexcept {
    const long need = max_prompt_tokens(prompt_bytes) + max_tokens;
    long ctx = 4096;
    while (ctx < need && ctx < (1L << 20)) ctx *= 2;
    return static_cast<int>(ctx);
}

/// The deterministic, offline provider behind the `rules` spec.
std::unique_ptr<ModelProvider> make_rules_provider();

}  // namespace planner::detail
