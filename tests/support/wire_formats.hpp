#pragma once

/// How each provider's server speaks, for the scripted ProviderServer: one type per wire
/// format, so one scenario test runs against all three (Catch's TEMPLATE_TEST_CASE).

#include <optional>
#include <string>

#include <planner/chain_router.hpp>

#include "support/provider_server.hpp"

namespace planner::testing {

using Headers = std::vector<std::pair<std::string, std::string>>;

/// How a reply ended, beyond its text: what real servers report next to the answer.
struct Generation {
    bool hit_cap = false;              ///< finish_reason/done_reason `length`
    std::optional<int> prompt_tokens;  ///< the prompt tokens the server says it read
    int completion_tokens = 0;
    bool truncated_flag = false;  ///< llama.cpp's `"truncated": true` (OpenAI wire only)
};

/// "Bearer <key>" in Authorization: how Ollama proxies, llama-server, vLLM and LM Studio check.
inline bool has_bearer(const RecordedRequest& r, const std::string& key) {
    return r.header("Authorization") == "Bearer " + key;
}

/// Ollama's /api/chat: the answer is a string in message.content; errors are {"error": "..."}.
struct OllamaWire {
    static std::string spec() { return "ollama/qwen2.5:7b"; }
    static std::string path() { return "/api/chat"; }
    static nlohmann::json sent_schema(const nlohmann::json& body) { return body.at("format"); }
    static void point_at(ChainRouterOptions& options, const std::string& url) {
        options.endpoints.ollama_base_url = url;
    }
    static ScriptedReply answer(const std::string& text) { return reply(text, {}); }
    static ScriptedReply reply(const std::string& text, const Generation& g) {
        nlohmann::json body = {{"model", "qwen2.5:7b"},
                               {"created_at", "2026-05-28T10:00:00Z"},
                               {"message", {{"role", "assistant"}, {"content", text}}},
                               {"done", true}};
        if (g.hit_cap) body["done_reason"] = "length";
        if (g.prompt_tokens) {
            body["done_reason"] = g.hit_cap ? "length" : "stop";
            body["prompt_eval_count"] = *g.prompt_tokens;
            body["eval_count"] = g.completion_tokens;
        }
        return {200, body.dump(), {}, false};
    }
    /// options.num_predict; Ollama's own default (-1, later 128) is no cap worth the name.
    static std::optional<int> token_cap(const nlohmann::json& body) {
        const auto p = nlohmann::json::json_pointer("/options/num_predict");
        if (!body.contains(p)) return std::nullopt;
        return body.at(p).get<int>();
    }
    /// options.num_ctx, else the server's default.
    static int context(const nlohmann::json& body, int server_default) {
        const auto p = nlohmann::json::json_pointer("/options/num_ctx");
        return body.contains(p) ? body.at(p).get<int>() : server_default;
    }
    static bool honours_schema(const nlohmann::json&, bool) { return true; }
    static bool authorized(const RecordedRequest& r, const std::string& key) {
        return has_bearer(r, key);
    }
    static ScriptedReply error(int status, const std::string& message, Headers headers = {}) {
        return {status, nlohmann::json{{"error", message}}.dump(), std::move(headers), false};
    }
};

/// OpenAI-compatible /chat/completions: choices[0].message.content; errors {"error": {...}}.
struct OpenAIWire {
    static constexpr const char* kKey = "sk-test-openai-0123456789";
    static std::string spec() { return "openai/gpt-4o-mini"; }
    static std::string path() { return "/v1/chat/completions"; }
    static nlohmann::json sent_schema(const nlohmann::json& body) {
        return body.at("response_format").at("json_schema").at("schema");
    }
    static void point_at(ChainRouterOptions& options, const std::string& url) {
        options.endpoints.openai_base_url = url + "/v1";
        options.endpoints.openai_api_key = kKey;
    }
    static ScriptedReply answer(const std::string& text) { return reply(text, {}); }
    static ScriptedReply reply(const std::string& text, const Generation& g) {
        nlohmann::json body = {{"id", "chatcmpl-1"},
                               {"object", "chat.completion"},
                               {"model", "gpt-4o-mini"},
                               {"choices",
                                {{{"index", 0},
                                  {"message", {{"role", "assistant"}, {"content", text}}},
                                  {"finish_reason", g.hit_cap ? "length" : "stop"}}}}};
        if (g.prompt_tokens) {
            body["usage"] = {{"prompt_tokens", *g.prompt_tokens},
                             {"completion_tokens", g.completion_tokens},
                             {"total_tokens", *g.prompt_tokens + g.completion_tokens}};
        }
        if (g.truncated_flag) body["truncated"] = true;
        return {200, body.dump(), {}, false};
    }
    /// max_completion_tokens (newer servers) or max_tokens; llama-server without either
    /// generates until its context is full.
    static std::optional<int> token_cap(const nlohmann::json& body) {
        for (const char* field : {"max_completion_tokens", "max_tokens"}) {
            if (body.contains(field)) return body.at(field).get<int>();
        }
        return std::nullopt;
    }
    static int context(const nlohmann::json&, int server_default) { return server_default; }
    /// llama.cpp builds of early 2025 drop the nested json_schema but honour json_object's
    /// `schema`.
    static bool honours_schema(const nlohmann::json& body, bool honours_nested) {
        const auto& format = body.at("response_format");
        if (format.at("type") == "json_object") return format.contains("schema");
        return honours_nested;
    }
    static bool authorized(const RecordedRequest& r, const std::string& key) {
        return has_bearer(r, key);
    }
    static ScriptedReply error(int status, const std::string& message, Headers headers = {}) {
        const nlohmann::json body = {
            {"error",
             {{"message", message}, {"type", "invalid_request_error"}, {"code", nullptr}}}};
        return {status, body.dump(), std::move(headers), false};
    }
};

/// Anthropic's /v1/messages: a JSON object comes back as the forced tool's input, anything
/// else as a text block; errors {"type": "error", "error": {"type", "message"}}.
struct AnthropicWire {
    static constexpr const char* kKey = "sk-ant-test-0123456789";
    static std::string spec() { return "anthropic/claude-3-5-haiku-latest"; }
    static std::string path() { return "/v1/messages"; }
    static nlohmann::json sent_schema(const nlohmann::json& body) {
        return body.at("tools").at(0).at("input_schema");
    }
    static void point_at(ChainRouterOptions& options, const std::string& url) {
        options.endpoints.anthropic_base_url = url;
        options.endpoints.anthropic_api_key = kKey;
    }
    static ScriptedReply answer(const std::string& text) { return reply(text, {}); }
    static ScriptedReply reply(const std::string& text, const Generation& g) {
        const auto object = nlohmann::json::parse(text, nullptr, false);
        const nlohmann::json block = object.is_object()
                                         ? nlohmann::json{{"type", "tool_use"},
                                                          {"id", "toolu_01"},
                                                          {"name", "answer"},
                                                          {"input", object}}
                                         : nlohmann::json{{"type", "text"}, {"text", text}};
        const char* stop = g.hit_cap ? "max_tokens" : object.is_object() ? "tool_use" : "end_turn";
        nlohmann::json body = {{"id", "msg_01"},      {"type", "message"},
                               {"role", "assistant"}, {"model", "claude-3-5-haiku-latest"},
                               {"content", {block}},  {"stop_reason", stop}};
        if (g.prompt_tokens) {
            body["usage"] = {{"input_tokens", *g.prompt_tokens},
                             {"output_tokens", g.completion_tokens}};
        }
        return {200, body.dump(), {}, false};
    }
    /// max_tokens is required by the Messages API.
    static std::optional<int> token_cap(const nlohmann::json& body) {
        if (!body.contains("max_tokens")) return std::nullopt;
        return body.at("max_tokens").get<int>();
    }
    static int context(const nlohmann::json&, int server_default) { return server_default; }
    static bool honours_schema(const nlohmann::json&, bool) { return true; }
    static bool authorized(const RecordedRequest& r, const std::string& key) {
        return r.header("x-api-key") == key;
    }
    static ScriptedReply error(int status, const std::string& message, Headers headers = {}) {
        const std::string type = status == 529   ? "overloaded_error"
                                 : status == 429 ? "rate_limit_error"
                                 : status == 404 ? "not_found_error"
                                                 : "api_error";
        const nlohmann::json body = {{"type", "error"},
                                     {"error", {{"type", type}, {"message", message}}}};
        return {status, body.dump(), std::move(headers), false};
    }
};

/// How a simulated model server behaves: the traits real servers showed with the planner.
struct ModelServerTraits {
    /// The context it runs with (llama-server -c, Ollama's default when num_ctx is not sent).
    int n_ctx = 8192;
    /// Demanded on every request when set (Bearer, or x-api-key for Anthropic): HTTP 401 else.
    std::string api_key;
    /// false: a llama.cpp build that drops the nested json_schema (upstream issue 11988).
    bool honours_nested_schema = true;
    /// llama.cpp's `"truncated": true` beside the usage when it cut the prompt.
    bool reports_truncation = false;
    /// What the proposal costs to write, in tokens.
    int answer_tokens = 60;
};

/// The simulated tokenizer: 4 bytes a token, as English and JSON roughly are.
inline int simulated_tokens(std::size_t bytes) {
    return static_cast<int>((bytes + 3) / 4);
}

/// A responder that behaves like a real model server of `Wire`'s format: it demands its key,
/// reads the prompt into its context (cutting what does not fit, keeping half the context, and
/// reporting what it read), then "generates": the proposal when the schema constrains it and
/// the cap allows, rambling prose until the cap otherwise (`length`), and forever without a cap
/// (the call hangs until the client gives up).
template <class Wire>
Responder simulated_model(ModelServerTraits traits) {
    return [traits](const RecordedRequest& r) -> ScriptedReply {
        if (!traits.api_key.empty() && !Wire::authorized(r, traits.api_key)) {
            return Wire::error(401, "Invalid API Key");
        }
        const auto body = r.json();
        std::size_t bytes = 0;
        for (const auto& m : body.at("messages")) {
            bytes += m.at("content").template get<std::string>().size();
        }
        if (body.contains("system")) bytes += body.at("system").template get<std::string>().size();
        const int prompt = simulated_tokens(bytes);
        const int n_ctx = Wire::context(body, traits.n_ctx);
        Generation g;
        g.prompt_tokens = prompt < n_ctx ? prompt : n_ctx / 2;
        g.truncated_flag = traits.reports_truncation && prompt >= n_ctx;
        const auto cap = Wire::token_cap(body);
        if (!cap) return hang();  // generates until the context is full: minutes on a CPU
        const std::string proposal = valid_proposal().dump();
        if (Wire::honours_schema(body, traits.honours_nested_schema) &&
            *cap >= traits.answer_tokens) {
            g.completion_tokens = traits.answer_tokens;
            return Wire::reply(proposal, g);
        }
        // Constrained, it is cut inside the object; unconstrained, it never gets to one.
        std::string text = Wire::honours_schema(body, traits.honours_nested_schema) ? proposal : "";
        const std::string ramble = "Let me think about the mosquitto service step by step. ";
        while (simulated_tokens(text.size()) < *cap) text += ramble;
        text.resize(static_cast<std::size_t>(*cap) * 4);
        g.hit_cap = true;
        g.completion_tokens = *cap;
        return Wire::reply(text, g);
    };
}

}  // namespace planner::testing
