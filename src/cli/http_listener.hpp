#pragma once

/// \file
/// planner-run's HTTP listener as a module opened only when `--http-listen` asks for it:
/// cpp-httplib (Debian's shared build) pulls in libssl, libcrypto, zlib and brotli and
/// initialises OpenSSL when loaded, about 3.8 MiB of a planner's idle memory that a planner
/// without a listener never uses (docs/performance.md, idle footprint).

#include <filesystem>
#include <memory>
#include <vector>

#include <planner/log_sink.hpp>

#include "http_server.hpp"

namespace planner::cli {

/// What planner-run needs of the listener: HttpServer, seen through the module's boundary.
class HttpListener {
  public:
    virtual ~HttpListener() = default;
    /// As HttpServer::start: the bound port; throws std::runtime_error with one line.
    virtual int start() = 0;
    virtual void stop() = 0;
};

/// The module's file name, and the one function it exports (extern "C", so dlsym finds it
/// unmangled): a new listener, owned by the caller.
inline constexpr const char* kHttpModuleFile = "planner-http.so";
inline constexpr const char* kHttpModuleFactory = "planner_http_listener_create";
using HttpListenerFactory = HttpListener* (*)(HttpServerOptions options, LogSink& log);

/// The scripted adversaries of `--eval` (scripted_ollama.cpp): a loopback Ollama on `port()`,
/// also in the module because it speaks HTTP with cpp-httplib.
class ScriptedModelServer {
  public:
    virtual ~ScriptedModelServer() = default;
    virtual int port() const = 0;
};
inline constexpr const char* kScriptedOllamaFactory = "planner_scripted_ollama_create";
using ScriptedOllamaFactory = ScriptedModelServer* (*)();
/// Inside the module: the server the factory returns.
std::unique_ptr<ScriptedModelServer> make_scripted_ollama();

/// Where planner-run looks for the module, first found wins: next to the program (a build
/// tree), then `<program's dir>/../<libdir>/homelab-planner/` (an install under any prefix,
/// the package's /usr/lib/<arch>/homelab-planner/).
std::vector<std::filesystem::path> http_module_candidates();

/// Opens the first of `candidates` that exists and makes a listener with it.
/// Throws std::runtime_error with one line naming the paths tried, or the loader's reason.
std::unique_ptr<HttpListener> load_http_listener(
    HttpServerOptions options, LogSink& log,
    const std::vector<std::filesystem::path>& candidates = http_module_candidates());

/// Opens the module as load_http_listener does and starts the scripted adversaries' server.
std::unique_ptr<ScriptedModelServer> load_scripted_ollama(
    const std::vector<std::filesystem::path>& candidates = http_module_candidates());

}  // namespace planner::cli
