#include "http_listener.hpp"

#include <dlfcn.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>

namespace planner::cli {

std::vector<std::filesystem::path> http_module_candidates() {
    std::error_code ec;
    const auto program = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) return {};
    const auto dir = program.parent_path();
    return {dir / kHttpModuleFile, dir.parent_path() / PLANNER_HTTP_MODULE_DIR / kHttpModuleFile};
}

namespace {

/// The module's exported `symbol`, for `what` (the flag that needs it, for the message).
void* module_symbol(const char* symbol, const std::string& what,
                    const std::vector<std::filesystem::path>& candidates) {
    std::string tried;
    for (const auto& path : candidates) {
        std::error_code ec;
        if (!std::filesystem::exists(path, ec)) {
            tried += (tried.empty() ? "" : ", ") + path.string();
            continue;
        }
        // Never closed: what is made from it may run until exit. Opening it again returns the
        // same handle.
        void* module = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!module) {
            std::string reason = dlerror();
            for (char& c : reason) {
                if (c == '\n') c = ' ';
            }
            throw std::runtime_error(what + ": cannot load " + path.string() + ": " + reason);
        }
        void* found = dlsym(module, symbol);
        if (!found) throw std::runtime_error(what + ": " + path.string() + " has no " + symbol);
        return found;
    }
    throw std::runtime_error(what + " needs " + std::string(kHttpModuleFile) +
                             " (the homelab-planner package ships it); not found in: " +
                             (tried.empty() ? std::string("(no candidates)") : tried));
}

/// POSIX: a data pointer from dlsym holds a function.
template <typename Function>
Function as_function(void* symbol) {
    Function f = nullptr;
    std::memcpy(&f, &symbol, sizeof f);
    return f;
}

}  // namespace

std::unique_ptr<HttpListener> load_http_listener(
    HttpServerOptions options, LogSink& log, const std::vector<std::filesystem::path>& candidates) {
    const auto create = as_function<HttpListenerFactory>(
        module_symbol(kHttpModuleFactory, "--http-listen", candidates));
    return std::unique_ptr<HttpListener>(create(std::move(options), log));
}

std::unique_ptr<ScriptedModelServer> load_scripted_ollama(
    const std::vector<std::filesystem::path>& candidates) {
    const auto create = as_function<ScriptedOllamaFactory>(
        module_symbol(kScriptedOllamaFactory, "--eval with script: models", candidates));
    return std::unique_ptr<ScriptedModelServer>(create());
}

}  // namespace planner::cli
