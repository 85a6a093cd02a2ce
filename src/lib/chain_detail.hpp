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
};

/// One entry of the chain. ask() never throws for a failure of the model or the network.
class ModelProvider {
  public:
    virtual ~ModelProvider() = default;
    virtual ProviderAnswer ask(const RouteRequest& request) = 0;
};

/// The provider for `spec`, configured from `options`; throws std::invalid_argument when the
/// options cannot work for it (a bad base URL, a missing Anthropic key).
std::unique_ptr<ModelProvider> make_provider(const ModelSpec& spec,
                                             const ChainRouterOptions& options,
                                             std::shared_ptr<HttpTransport> transport);

/// The deterministic, offline provider behind the `rules` spec.
std::unique_ptr<ModelProvider> make_rules_provider();

}  // namespace planner::detail
