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

std::unique_ptr<HttpListener> load_http_listener(
    HttpServerOptions options, LogSink& log, const std::vector<std::filesystem::path>& candidates) {
    std::string tried;
    for (const auto& path : candidates) {
        std::error_code ec;
        if (!std::filesystem::exists(path, ec)) {
            tried += (tried.empty() ? "" : ", ") + path.string();
            continue;
        }
        // Never closed: a listener made from it may run until exit. Opening it again returns
        // the same handle.
        void* module = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!module) {
            std::string reason = dlerror();
            for (char& c : reason) {
                if (c == '\n') c = ' ';
            }
            throw std::runtime_error("--http-listen: cannot load " + path.string() + ": " + reason);
        }
        void* symbol = dlsym(module, kHttpModuleFactory);
        if (!symbol) {
            throw std::runtime_error("--http-listen: " + path.string() + " has no " +
                                     kHttpModuleFactory);
        }
        HttpListenerFactory create = nullptr;
        std::memcpy(&create, &symbol, sizeof create);  // POSIX: a data pointer holds a function
        return std::unique_ptr<HttpListener>(create(std::move(options), log));
    }
    throw std::runtime_error("--http-listen needs " + std::string(kHttpModuleFile) +
                             " (the homelab-planner package ships it); not found in: " +
                             (tried.empty() ? std::string("(no candidates)") : tried));
}

}  // namespace planner::cli
