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
#include "url_parts.hpp"

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
    // libcurl's date parser (RFC 7231's three date formats).
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
    int max_tokens;
    ModelEntry::TokenLimitField token_limit_field;
    ModelEntry::SchemaMode schema_mode;
    std::optional<int> num_ctx;
    std::chrono::seconds keep_alive;
    /// false for hosted APIs, which refuse a prompt too long instead of cutting it, and whose
    /// tokenizers are not the local ones min_prompt_tokens was sized for.
    bool may_cut_prompt = true;
};

bool is_openai_api(std::string_view base_url) {
    const auto parts = split_url(base_url);
    return parts && parts->host_port == "api.openai.com";
}

std::size_t prompt_bytes(const std::vector<ChatMessage>& messages) {
    std::size_t n = 0;
    for (const auto& m : messages) n += m.content.size();
    return n;
}

/// A JSON number that is a whole count, or nullopt.
std::optional<long> count_at(const json& body, const char* pointer) {
    const auto* v = find_path(body, pointer);
    if (!v || !v->is_number_integer()) return std::nullopt;
    return v->get<long>();
}

/// The answer that stopped at its cap: asking again would stop there again.
ProviderAnswer cut_off(std::string_view field, const std::string& why, int max_tokens) {
    return failed(AttemptStatus::truncated,
                  std::string(field) + " is " + why + ": the answer hit its cap of " +
                      std::to_string(max_tokens) +
                      " tokens before it ended (raise max_tokens for this model)");
}

/// Refuses an answer to a prompt the server did not read whole: the house rules are at its
/// start and may be what was cut. The rule: the server said so, or it read fewer tokens than
/// the prompt's bytes / 5 (see min_prompt_tokens).
void check_prompt_read(ProviderAnswer& answer, std::size_t bytes) {
    const long floor = min_prompt_tokens(bytes);
    const bool too_few = answer.prompt_tokens_read && *answer.prompt_tokens_read < floor;
    if (!too_few && !answer.server_truncated_prompt) return;
    std::string error = answer.server_truncated_prompt ? "the server truncated the prompt"
                                                       : "the server read only part of the prompt";
    error += ": it read ";
    error += answer.prompt_tokens_read ? std::to_string(*answer.prompt_tokens_read) : "?";
    error += " tokens of a " + std::to_string(bytes) + "-byte prompt (at least " +
             std::to_string(floor) +
             " tokens); the answer is refused (give the model a larger context: num_ctx, "
             "llama-server -c)";
    answer.status = AttemptStatus::prompt_truncated;
    answer.error = std::move(error);
    answer.text.clear();
    answer.object.reset();
    answer.retryable = false;
}

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
        if (config_.may_cut_prompt) check_prompt_read(answer, prompt_bytes(route.messages));
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
        if (!config_.api_key.empty()) {
            request.headers.emplace_back("Authorization", "Bearer " + config_.api_key);
        }
        const int num_ctx =
            config_.num_ctx.value_or(default_num_ctx(prompt_bytes(messages), config_.max_tokens));
        request.body =
            json{{"model", config_.model},
                 {"messages", messages_json(messages)},
                 {"stream", false},
                 {"format", schema},
                 {"keep_alive", std::to_string(config_.keep_alive.count()) + "s"},
                 {"options",
                  {{"temperature", 0}, {"num_predict", config_.max_tokens}, {"num_ctx", num_ctx}}}}
                .dump();
    }

    ProviderAnswer read(const json& body) const override {
        ProviderAnswer answer;
        if (const auto* content = find_path(body, "/message/content");
            content && content->is_string()) {
            answer = answered(content->get<std::string>());
            if (const auto* reason = find_path(body, "/done_reason");
                reason && *reason == "length") {
                answer = cut_off("done_reason", "length", config_.max_tokens);
            }
        } else if (body.contains("error")) {
            return failed(AttemptStatus::error, error_text(body.dump()));
        } else {
            return failed(AttemptStatus::error, "response without message.content");
        }
        // Absent from Ollama releases before mid-2024 when the prompt was cached (nothing is
        // checked then); the full count, cached tokens included, since.
        answer.prompt_tokens_read = count_at(body, "/prompt_eval_count");
        return answer;
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
        json body = {
            {"model", config_.model}, {"messages", messages_json(messages)}, {"temperature", 0}};
        if (config_.schema_mode == ModelEntry::SchemaMode::json_object) {
            // llama.cpp's other form, honoured by the builds that drop the nested one.
            body["response_format"] = {{"type", "json_object"}, {"schema", schema}};
        } else {
            // The nested json_schema form: llama.cpp ignores a flat one.
            body["response_format"] = {
                {"type", "json_schema"},
                {"json_schema",
                 {{"name", schema_name(schema)}, {"schema", schema}, {"strict", true}}}};
        }
        body[token_limit_field()] = config_.max_tokens;
        request.body = body.dump();
    }

    ProviderAnswer read(const json& body) const override {
        if (const auto* content = find_path(body, "/choices/0/message/content");
            content && content->is_string()) {
            auto answer = answered(content->get<std::string>());
            if (const auto* reason = find_path(body, "/choices/0/finish_reason");
                reason && *reason == "length") {
                answer = cut_off("finish_reason", "length", config_.max_tokens);
            }
            answer.prompt_tokens_read = count_at(body, "/usage/prompt_tokens");
            if (const auto* cut = find_path(body, "/truncated"); cut && *cut == true) {
                answer.server_truncated_prompt = true;
            }
            return answer;
        }
        if (const auto* refusal = find_path(body, "/choices/0/message/refusal");
            refusal && refusal->is_string()) {
            return failed(AttemptStatus::invalid,
                          "the model refused: " + refusal->get<std::string>());
        }
        if (body.contains("error")) return failed(AttemptStatus::error, error_text(body.dump()));
        return failed(AttemptStatus::error, "response without choices[0].message.content");
    }

  private:
    /// OpenAI's own API refuses max_tokens for its reasoning models; servers before 2026
    /// (llama.cpp among them) read only max_tokens.
    const char* token_limit_field() const {
        switch (config_.token_limit_field) {
            case ModelEntry::TokenLimitField::max_tokens:
                return "max_tokens";
            case ModelEntry::TokenLimitField::max_completion_tokens:
                return "max_completion_tokens";
            case ModelEntry::TokenLimitField::automatic:
                break;
        }
        return is_openai_api(config_.base_url) ? "max_completion_tokens" : "max_tokens";
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
            {"max_tokens", config_.max_tokens},
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
        if (const auto* reason = find_path(body, "/stop_reason");
            reason && *reason == "max_tokens") {
            return cut_off("stop_reason", "max_tokens", config_.max_tokens);
        }
        // The tool was forced; a proxy or an older model may still answer in text.
        if (!text.empty()) return answered(std::move(text));
        return failed(AttemptStatus::invalid, "response without a tool_use block");
    }
};

std::string checked_key(const std::string& key, const std::string& variable) {
    for (const char c : key) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7F) {
            throw std::invalid_argument(variable + " contains control characters");
        }
    }
    return key;
}

}  // namespace

std::unique_ptr<ModelProvider> make_provider(const ModelSpec& spec, const ModelEntry& entry,
                                             const ChainRouterOptions& options,
                                             std::shared_ptr<HttpTransport> transport) {
    if (spec.provider == "rules") return make_rules_provider();
    const auto& ep = options.endpoints;
    HttpConfig config{spec.model,
                      spec.base_url,
                      "",
                      entry.timeout.value_or(options.attempt_timeout),
                      options.max_output_tokens.value_or(entry.max_tokens),
                      entry.token_limit_field,
                      entry.schema_mode,
                      entry.num_ctx,
                      entry.keep_alive};
    // The provider's key goes only to the provider's configured server: an entry with its own
    // @base-url (a LAN box, often plain http) never receives the hosted key. The entry's own
    // key goes to the entry's base URL, whichever that is, and nowhere else.
    const auto configure = [&](const std::string& endpoint, std::string_view url_variable,
                               const std::string& key, const std::string& key_variable) {
        std::string_view home = endpoint;
        while (home.ends_with('/')) home.remove_suffix(1);
        if (config.base_url.empty()) config.base_url = normalize_base_url(endpoint, url_variable);
        if (!entry.api_key.empty()) {
            config.api_key = checked_key(entry.api_key, "the API key of " + spec.text());
        } else if (config.base_url == home) {
            config.api_key = checked_key(key, key_variable);
        }
    };
    if (spec.provider == "ollama") {
        configure(ep.ollama_base_url, "OLLAMA_HOST", "", "");
        return std::make_unique<OllamaProvider>(std::move(config), std::move(transport));
    }
    if (spec.provider == "openai") {
        configure(ep.openai_base_url, "OPENAI_BASE_URL", ep.openai_api_key, "OPENAI_API_KEY");
        config.may_cut_prompt = !is_openai_api(config.base_url);
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
