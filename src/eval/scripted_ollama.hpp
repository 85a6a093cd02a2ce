#pragma once

/// \file
/// The scripted adversaries of `planner-run --eval` (docs/evals.md): a loopback server speaking
/// Ollama's /api/chat, so their answers go through the real chain like a real model's.

#include <memory>

namespace planner::cli {

/// The server, listening on 127.0.0.1:`port()` until destroyed.
class ScriptedModelServer {
  public:
    virtual ~ScriptedModelServer() = default;
    virtual int port() const = 0;
};

/// Starts the scripted adversaries' server. Throws std::runtime_error with one line when it
/// cannot listen.
std::unique_ptr<ScriptedModelServer> make_scripted_ollama();

}  // namespace planner::cli
