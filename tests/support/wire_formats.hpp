#pragma once

/// How each provider's server speaks, for the scripted ProviderServer: one type per wire
/// format, so one scenario test runs against all three (Catch's TEMPLATE_TEST_CASE).

#include <string>

#include <planner/chain_router.hpp>

#include "support/provider_server.hpp"

namespace planner::testing {

using Headers = std::vector<std::pair<std::string, std::string>>;

/// Ollama's /api/chat: the answer is a string in message.content; errors are {"error": "..."}.
struct OllamaWire {
    static std::string spec() { return "ollama/qwen2.5:7b"; }
    static std::string path() { return "/api/chat"; }
    static nlohmann::json sent_schema(const nlohmann::json& body) { return body.at("format"); }
    static void point_at(ChainRouterOptions& options, const std::string& url) {
        options.endpoints.ollama_base_url = url;
    }
    static ScriptedReply answer(const std::string& text) {
        const nlohmann::json body = {{"model", "qwen2.5:7b"},
                                     {"created_at", "2026-05-28T10:00:00Z"},
                                     {"message", {{"role", "assistant"}, {"content", text}}},
                                     {"done", true}};
        return {200, body.dump(), {}, false};
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
    static ScriptedReply answer(const std::string& text) {
        const nlohmann::json body = {{"id", "chatcmpl-1"},
                                     {"object", "chat.completion"},
                                     {"model", "gpt-4o-mini"},
                                     {"choices",
                                      {{{"index", 0},
                                        {"message", {{"role", "assistant"}, {"content", text}}},
                                        {"finish_reason", "stop"}}}}};
        return {200, body.dump(), {}, false};
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
    static ScriptedReply answer(const std::string& text) {
        const auto object = nlohmann::json::parse(text, nullptr, false);
        const nlohmann::json block = object.is_object()
                                         ? nlohmann::json{{"type", "tool_use"},
                                                          {"id", "toolu_01"},
                                                          {"name", "answer"},
                                                          {"input", object}}
                                         : nlohmann::json{{"type", "text"}, {"text", text}};
        const nlohmann::json body = {
            {"id", "msg_01"},      {"type", "message"},
            {"role", "assistant"}, {"model", "claude-3-5-haiku-latest"},
            {"content", {block}},  {"stop_reason", object.is_object() ? "tool_use" : "end_turn"}};
        return {200, body.dump(), {}, false};
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

}  // namespace planner::testing
