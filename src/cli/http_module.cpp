// planner-http.so: the HttpServer behind the module boundary of http_listener.hpp. Built only
// into the module (the tests link HttpServer directly).

#include <utility>

#include "http_listener.hpp"
#include "http_server.hpp"

namespace {

class ModuleListener final : public planner::cli::HttpListener {
  public:
    ModuleListener(planner::cli::HttpServerOptions options, planner::LogSink& log)
        : server_(std::move(options), log) {}
    int start() override { return server_.start(); }
    void stop() override { server_.stop(); }

  private:
    planner::cli::HttpServer server_;
};

}  // namespace

extern "C" __attribute__((visibility("default"))) planner::cli::HttpListener*
planner_http_listener_create(planner::cli::HttpServerOptions options, planner::LogSink& log) {
    return new ModuleListener(std::move(options), log);
}

extern "C" __attribute__((visibility("default"))) planner::cli::ScriptedModelServer*
planner_scripted_ollama_create() {
    return planner::cli::make_scripted_ollama().release();
}
