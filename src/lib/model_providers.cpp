#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <stdexcept>
#include <string>
#include <utility>

#include <curl/curl.h>

#include "chain_detail.hpp"
#include "planner/detail/json_limits.hpp"

namespace planner::detail {

namespace {

using nlohmann::json;

/// A model server's body nesting deeper is refused before it is parsed: dump() and redact()
/// recurse once per level, so a hostile body could overflow the stack. The answer inside may
/// nest 64 levels (extract_json_object's limit) under a little envelope.
constexpr std::size_t kMaxBodyDepth = 128;

/// Why a body is not read, or nothing when it may be parsed.
std::optional<std::string> too_deep(std::string_view body) {
    if (!json_text_exceeds_depth(body, kMaxBodyDepth)) return std::nullopt;
    return "body nested deeper than " + std::to_string(kMaxBodyDepth) + " levels, not read";
}

/// The name given to the schema (OpenAI's json_schema.name) and to Anthropic's forced tool;
/// both accept [A-Za-z0-9_-]{1,64}.
std::string schema_name(const json& schema) {
    if (const auto it = schema.find("title"); it != schema.end() && it->is_string()) {
        const auto& title = it->get_ref<const std::string&>();
        const bool usable =
            !title.empty() && title.size() <= 64 &&
            std::all_of(title.begin(), title.end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
            });
        if (usable) return title;
    }
    return "answer";
}

const json* find_path(const json& body, const char* pointer) {
    const json::json_pointer ptr(pointer);
    return body.contains(ptr) ? &body.at(ptr) : nullptr;
}

/// `text` with every occurrence of `secret` replaced, for servers that echo what they got.
std::string redact(std::string text, const std::string& secret) {
    if (secret.empty()) return text;
    for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos)) {
        text.replace(pos, secret.size(), "[redacted]");
    }
    return text;
}

/// `value` with `secret` redacted from every string and object key in it, at any depth: an
/// answer the API returns as an object (Anthropic's tool input) never passes through `text`.
json redact(const json& value, const std::string& secret) {
    if (secret.empty()) return value;
    if (value.is_string()) return redact(value.get<std::string>(), secret);
    if (value.is_array()) {
        json out = json::array();
        for (const auto& item : value) out.push_back(redact(item, secret));
        return out;
    }
    if (value.is_object()) {
        json out = json::object();
        for (const auto& [k, v] : value.items()) out[redact(k, secret)] = redact(v, secret);
        return out;
    }
    return value;
}

/// The error message in any of the shapes servers use: Ollama's {"error": "..."}, OpenAI's
/// and Anthropic's {"error": {"message": ..., "type": ...}}, vLLM's flat {"message": ...}.
std::string error_text(std::string_view body) {
    if (auto why = too_deep(body)) return std::move(*why);
    const auto parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_object()) {
        if (const auto* e = find_path(parsed, "/error"); e && e->is_string()) {
            return e->get<std::string>();
        }
        if (const auto* m = find_path(parsed, "/error/message"); m && m->is_string()) {
            std::string out = m->get<std::string>();
            if (const auto* t = find_path(parsed, "/error/type"); t && t->is_string()) {
                out += " (" + t->get<std::string>() + ")";
            }
            return out;
        }
        if (const auto* m = find_path(parsed, "/message"); m && m->is_string()) {
            return m->get<std::string>();
        }
    }
    return std::string(body);
}

/// Retry-After as delta-seconds or an HTTP date; nullopt when absent or unreadable.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value) {
    while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
    if (value.empty()) return std::nullopt;
    constexpr double kMaxSeconds = 7 * 24 * 3600.0;
    if (std::isdigit(static_cast<unsigned char>(value.front()))) {
        const std::string copy(value);
        char* end = nullptr;
        const double seconds = std::strtod(copy.c_str(), &end);
        if (end != copy.c_str() + copy.size() || !std::isfinite(seconds)) return std::nullopt;
        return std::chrono::milliseconds{std::llround(std::min(seconds, kMaxSeconds) * 1000.0)};
    }
    const std::time_t at = curl_getdate(std::string(value).c_str(), nullptr);
    if (at < 0) return std::nullopt;
    const double seconds = std::clamp(std::difftime(at, std::time(nullptr)), 0.0, kMaxSeconds);
    return std::chrono::milliseconds{std::llround(seconds * 1000.0)};
}

bool is_retryable_status(long status) noexcept {
    return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

ProviderAnswer failed(AttemptStatus status, std::string error, bool retryable = false) {
    ProviderAnswer a;
    a.status = status;
    a.error = std::move(error);
    a.retryable = retryable;
    return a;
}

ProviderAnswer answered(std::string text, std::optional<json> object = std::nullopt) {
    ProviderAnswer a;
    a.status = AttemptStatus::success;
    a.text = std::move(text);
    a.object = std::move(object);
    return a;
}

json messages_json(const std::vector<ChatMessage>& messages) {
    json out = json::array();
    for (const auto& m : messages) out.push_back(m);
    return out;
}

struct HttpConfig {
    std::string model;
    std::string base_url;
    std::string api_key;  ///< empty: no authentication header
    std::chrono::milliseconds timeout;
    int max_output_tokens;
};

/// The shared part of every HTTP provider: send, classify failures, read error bodies, keep
/// the key out of every message. Subclasses only build the request and read a 2xx body.
class HttpProvider : public ModelProvider {
  public:
    HttpProvider(HttpConfig config, std::shared_ptr<HttpTransport> transport)
        : config_(std::move(config)), transport_(std::move(transport)) {}

    ProviderAnswer ask(const RouteRequest& route) final {
        HttpRequest request;
        request.timeout = config_.timeout;
        request.headers.emplace_back("Content-Type", "application/json");
        request.headers.emplace_back("Accept", "application/json");
        build(request, route.messages, route.schema);
        ProviderAnswer answer = interpret(transport_->post(request));
        answer.error = printable(redact(std::move(answer.error), config_.api_key), 500);
        answer.text = redact(std::move(answer.text), config_.api_key);
        if (answer.object) answer.object = redact(*answer.object, config_.api_key);
        return answer;
    }

  protected:
    /// Fills in the URL, the provider's headers and the body.
    virtual void build(HttpRequest& request, const std::vector<ChatMessage>& messages,
                       const json& schema) const = 0;
    /// The answer inside a 2xx body.
    virtual ProviderAnswer read(const json& body) const = 0;

    const HttpConfig config_;

  private:
    ProviderAnswer interpret(const HttpResponse& response) const {
        switch (response.failure) {
            case HttpFailure::timeout:
                return failed(AttemptStatus::timeout, response.error, true);
            case HttpFailure::transport:
                return failed(AttemptStatus::error, response.error, true);
            case HttpFailure::too_large:
                // A model that rambles past the cap would do so again: move on at once.
                return failed(AttemptStatus::error, response.error, false);
            case HttpFailure::none:
                break;
        }
        if (response.status < 200 || response.status > 299) {
            std::string error = "HTTP " + std::to_string(response.status);
            if (response.status >= 300 && response.status <= 399) {
                // Not followed: it could carry the key to another host. Saying where it points
                // makes a moved base URL (http:// to https://, a missing /v1) obvious.
                error += ": redirect not followed";
                if (const auto to = response.header("location"); !to.empty()) {
                    error += " (to " + std::string(to) + ")";
                }
            } else if (const auto message = error_text(response.body); !message.empty()) {
                error += ": " + message;
            }
            auto answer = failed(AttemptStatus::error, std::move(error),
                                 is_retryable_status(response.status));
            if (answer.retryable)
                answer.retry_after = parse_retry_after(response.header("retry-after"));
            return answer;
        }
        if (const auto why = too_deep(response.body)) {
            return failed(AttemptStatus::error,
                          "HTTP " + std::to_string(response.status) + " with a " + *why);
        }
        const auto body = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
        if (!body.is_object()) {
            return failed(AttemptStatus::error, "HTTP " + std::to_string(response.status) +
                                                    " with a body that is not a JSON object");
        }
        return read(body);
    }

    std::shared_ptr<HttpTransport> transport_;
};

/// Ollama's native API: `format` takes the schema and constrains decoding (when the build
/// honours it; the answer is validated either way).
class OllamaProvider final : public HttpProvider {
  public:
    using HttpProvider::HttpProvider;

  protected:
    void build(HttpRequest& request, const std::vector<ChatMessage>& messages,
               const json& schema) const override {
        request.url = config_.base_url + "/api/chat";
        request.body = json{{"model", config_.model},
                            {"messages", messages_json(messages)},
                            {"stream", false},
                            {"format", schema},
                            {"options", {{"temperature", 0}}}}
                           .dump();
    }

    ProviderAnswer read(const json& body) const override {
        if (const auto* content = find_path(body, "/message/content");
            content && content->is_string()) {
            return answered(content->get<std::string>());
        }
        if (body.contains("error")) return failed(AttemptStatus::error, error_text(body.dump()));
        return failed(AttemptStatus::error, "response without message.content");
    }
};

/// Any OpenAI-compatible chat completions server: llama.cpp, vLLM, LM Studio, hosted.
class OpenAIProvider final : public HttpProvider {
  public:
    using HttpProvider::HttpProvider;

  protected:
    void build(HttpRequest& request, const std::vector<ChatMessage>& messages,
               const json& schema) const override {
        request.url = config_.base_url + "/chat/completions";
        if (!config_.api_key.empty()) {
            request.headers.emplace_back("Authorization", "Bearer " + config_.api_key);
        }
        // The nested json_schema form: llama.cpp ignores a flat one.
        request.body =
            json{{"model", config_.model},
                 {"messages", messages_json(messages)},
                 {"temperature", 0},
                 {"response_format",
                  {{"type", "json_schema"},
                   {"json_schema",
                    {{"name", schema_name(schema)}, {"schema", schema}, {"strict", true}}}}}}
                .dump();
    }

    ProviderAnswer read(const json& body) const override {
        if (const auto* content = find_path(body, "/choices/0/message/content");
            content && content->is_string()) {
            return answered(content->get<std::string>());
        }
        if (const auto* refusal = find_path(body, "/choices/0/message/refusal");
            refusal && refusal->is_string()) {
            return failed(AttemptStatus::invalid,
                          "the model refused: " + refusal->get<std::string>());
        }
        if (body.contains("error")) return failed(AttemptStatus::error, error_text(body.dump()));
        return failed(AttemptStatus::error, "response without choices[0].message.content");
    }
};

/// Anthropic's Messages API. It has no schema-constrained text output in this version, so the
/// schema becomes the input_schema of one tool the model is forced to call.
class AnthropicProvider final : public HttpProvider {
  public:
    using HttpProvider::HttpProvider;

  protected:
    void build(HttpRequest& request, const std::vector<ChatMessage>& messages,
               const json& schema) const override {
        request.url = config_.base_url + "/v1/messages";
        if (!config_.api_key.empty()) request.headers.emplace_back("x-api-key", config_.api_key);
        request.headers.emplace_back("anthropic-version", "2023-06-01");
        std::string system;
        json turns = json::array();
        for (const auto& m : messages) {
            if (m.role == "system") {
                if (!system.empty()) system.append("\n\n");
                system.append(m.content);
            } else {
                turns.push_back(m);
            }
        }
        const auto tool = schema_name(schema);
        json body = {
            {"model", config_.model},
            {"max_tokens", config_.max_output_tokens},
            {"messages", std::move(turns)},
            {"temperature", 0},
            {"tools", json::array({{{"name", tool},
                                    {"description", "Give your answer as this tool's input."},
                                    {"input_schema", schema}}})},
            {"tool_choice", {{"type", "tool"}, {"name", tool}}}};
        if (!system.empty()) body["system"] = std::move(system);
        request.body = body.dump();
    }

    ProviderAnswer read(const json& body) const override {
        const auto* content = find_path(body, "/content");
        if (!content || !content->is_array()) {
            return failed(AttemptStatus::error, "response without a content array");
        }
        std::string text;
        for (const auto& block : *content) {
            if (!block.is_object()) continue;
            const auto type = block.value("type", std::string());
            if (type == "tool_use" && block.contains("input")) {
                const auto& input = block["input"];
                return answered(input.dump(), input);
            }
            if (type == "text" && block.contains("text") && block["text"].is_string()) {
                text += block["text"].get<std::string>();
            }
        }
        // The tool was forced; a proxy or an older model may still answer in text.
        if (!text.empty()) return answered(std::move(text));
        return failed(AttemptStatus::invalid, "response without a tool_use block");
    }
};

std::string checked_key(const std::string& key, std::string_view variable) {
    for (const char c : key) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7F) {
            throw std::invalid_argument(std::string(variable) + " contains control characters");
        }
    }
    return key;
}

}  // namespace

std::unique_ptr<ModelProvider> make_provider(const ModelSpec& spec,
                                             const ChainRouterOptions& options,
                                             std::shared_ptr<HttpTransport> transport) {
    if (spec.provider == "rules") return make_rules_provider();
    const auto& ep = options.endpoints;
    HttpConfig config{spec.model, spec.base_url, "", options.attempt_timeout,
                      options.max_output_tokens};
    // A key goes only to the provider's configured server: an entry with its own @base-url
    // (a LAN box, often plain http) never receives the hosted key.
    const auto configure = [&](const std::string& endpoint, std::string_view url_variable,
                               const std::string& key, std::string_view key_variable) {
        std::string_view home = endpoint;
        while (home.ends_with('/')) home.remove_suffix(1);
        if (config.base_url.empty()) {
            config.base_url = normalize_base_url(endpoint, url_variable);
        } else if (config.base_url != home) {
            return;
        }
        config.api_key = checked_key(key, key_variable);
    };
    if (spec.provider == "ollama") {
        configure(ep.ollama_base_url, "OLLAMA_HOST", "", "");
        return std::make_unique<OllamaProvider>(std::move(config), std::move(transport));
    }
    if (spec.provider == "openai") {
        configure(ep.openai_base_url, "OPENAI_BASE_URL", ep.openai_api_key, "OPENAI_API_KEY");
        return std::make_unique<OpenAIProvider>(std::move(config), std::move(transport));
    }
    if (spec.provider == "anthropic") {
        configure(ep.anthropic_base_url, "ANTHROPIC_BASE_URL", ep.anthropic_api_key,
                  "ANTHROPIC_API_KEY");
        if (config.api_key.empty() && spec.base_url.empty()) {
            throw std::invalid_argument(spec.text() + " needs an API key: set ANTHROPIC_API_KEY");
        }
        return std::make_unique<AnthropicProvider>(std::move(config), std::move(transport));
    }
    throw std::invalid_argument("unknown provider '" + printable(spec.provider) + "'");
}

}  // namespace planner::detail
