#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>

#include "chain_detail.hpp"
#include "planner/chain_router.hpp"
#include "planner/url.hpp"
#include "text.hpp"
#include "url_parts.hpp"

namespace planner {

namespace detail {

namespace {

constexpr std::string_view kProviders[] = {"ollama", "openai", "anthropic"};

bool is_unsafe_char(char c) noexcept {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7F;
}

}  // namespace

std::string printable(std::string_view text, std::size_t max_bytes) {
    std::string out = redact_url(text);
    for (auto& c : out) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
    }
    if (out.size() > max_bytes) {
        out.resize(max_bytes);
        out.append("...");
    }
    return out;
}

std::string normalize_base_url(std::string_view url, std::string_view owner) {
    const auto fail = [&](const std::string& why) {
        throw std::invalid_argument("base URL of " + printable(owner) + " " + why);
    };
    const auto parts = split_url(url);
    if (!parts || (parts->scheme != "http" && parts->scheme != "https")) {
        fail("must start with http:// or https://");
    }
    for (const char c : url) {
        if (is_unsafe_char(c)) fail("contains whitespace or control characters");
    }
    // Credentials in a URL would end up in every attempt record that names the model.
    if (parts->userinfo) fail("must not contain credentials; use the API key settings");
    if (parts->host_port.empty()) fail("names no host");
    if (parts->query || parts->fragment) fail("must not have a query or fragment");
    while (url.ends_with('/')) url.remove_suffix(1);
    return std::string(url);
}

}  // namespace detail

std::string ModelSpec::text() const {
    if (provider == "rules") return provider;
    std::string out = provider;
    out.push_back('/');
    out.append(model);
    if (!base_url.empty()) {
        out.push_back('@');
        out.append(base_url);
    }
    return out;
}

ModelSpec parse_model_spec(std::string_view spec) {
    const auto text = detail::trim(spec);
    const auto quoted = "model spec '" + detail::printable(text) + "'";
    if (text.empty()) throw std::invalid_argument("empty model spec");
    for (const char c : text) {
        if (detail::is_unsafe_char(c)) {
            throw std::invalid_argument(quoted + " contains whitespace or control characters");
        }
    }
    if (text == "rules") return ModelSpec{"rules", "", ""};
    if (text.starts_with("rules/") || text.starts_with("rules@")) {
        throw std::invalid_argument(quoted + ": 'rules' takes no model or base URL");
    }
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) {
        throw std::invalid_argument(quoted +
                                    " must be provider/model[@base-url] with provider ollama, "
                                    "openai or anthropic, or 'rules'");
    }
    ModelSpec result;
    result.provider = std::string(text.substr(0, slash));
    bool known = false;
    for (const auto p : detail::kProviders) known = known || p == result.provider;
    if (!known) {
        throw std::invalid_argument(quoted + " has unknown provider '" +
                                    detail::printable(result.provider) +
                                    "'; expected ollama, openai, anthropic or rules");
    }
    const auto rest = text.substr(slash + 1);
    const auto at = rest.find('@');
    result.model = std::string(rest.substr(0, at));
    if (result.model.empty()) throw std::invalid_argument(quoted + " names no model");
    if (at != std::string_view::npos) {
        const auto url = rest.substr(at + 1);
        if (url.empty()) throw std::invalid_argument(quoted + " has an empty base URL after '@'");
        result.base_url = detail::normalize_base_url(url, quoted);
    }
    return result;
}

namespace {

std::optional<std::string> env(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') return std::nullopt;
    return std::string(detail::trim(value));
}

/// OLLAMA_HOST as the ollama CLI reads it: "gpu", "gpu:11434" and "http://gpu:11434" all work.
std::string ollama_host_url(std::string host) {
    if (host.find("://") != std::string::npos) return host;
    const auto path = host.find('/');
    const auto hostport = host.substr(0, path);
    const bool has_port = hostport.find(':') != std::string::npos &&
                          (hostport.front() != '[' || hostport.find("]:") != std::string::npos);
    std::string url = "http://";
    if (hostport.empty() || hostport.front() == ':') url.append("127.0.0.1");
    url.append(hostport);
    if (!has_port) url.append(":11434");
    if (path != std::string::npos) url.append(host.substr(path));
    return url;
}

std::string without_trailing_slash(std::string url) {
    while (url.ends_with('/')) url.pop_back();
    return url;
}

}  // namespace

ProviderEndpoints ProviderEndpoints::from_environment() {
    ProviderEndpoints e;
    if (auto host = env("OLLAMA_HOST")) {
        e.ollama_base_url = without_trailing_slash(ollama_host_url(std::move(*host)));
    } else if (auto url = env("OLLAMA_BASE_URL")) {
        e.ollama_base_url = without_trailing_slash(std::move(*url));
    }
    if (auto url = env("OPENAI_BASE_URL")) e.openai_base_url = without_trailing_slash(*url);
    if (auto key = env("OPENAI_API_KEY")) e.openai_api_key = std::move(*key);
    if (auto url = env("ANTHROPIC_BASE_URL")) e.anthropic_base_url = without_trailing_slash(*url);
    if (auto key = env("ANTHROPIC_API_KEY")) e.anthropic_api_key = std::move(*key);
    return e;
}

}  // namespace planner
