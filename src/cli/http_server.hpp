#pragma once

/// \file
/// planner-run's HTTP listener: /metrics, /healthz, /readyz, the proposals API, the
/// approval page and the Alertmanager receiver (docs/http-api.md). It runs on its own bounded
/// thread pool and reaches the planner only through the hooks and the ActionStore below, so a slow
/// or hostile client never delays intake or planning.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <planner/action_store.hpp>
#include <planner/alertmanager.hpp>
#include <planner/clock.hpp>
#include <planner/listen_address.hpp>
#include <planner/log_sink.hpp>

namespace planner::cli {

struct HttpServerOptions {
    ListenAddress listen{"127.0.0.1", 0};
    /// Connections served at once; more wait, up to `max_queued`, then in the kernel's backlog.
    std::size_t threads = 4;
    std::size_t max_queued = 64;
    /// Request bodies above this are refused (413): approve and reject need a few hundred bytes.
    std::size_t max_body_bytes = 64 * 1024;
    std::chrono::seconds read_timeout{5};
    std::chrono::seconds write_timeout{5};
    std::chrono::seconds keep_alive_timeout{5};
    /// The bearer token approve and reject need; empty: the API is read-only (writes get 403).
    std::string token;
    /// Wrong or missing tokens one client address may send per window before getting 429.
    std::size_t max_auth_failures = 5;
    std::chrono::seconds auth_failure_window{60};
    /// `GET /metrics` answers with this text (Prometheus text format 0.0.4); unset: 404.
    std::function<std::string()> metrics;
    /// `GET /healthz`: nullopt while healthy, else the reason (503). Unset: always healthy.
    std::function<std::optional<std::string>()> health;
    /// `GET /readyz`: nullopt once ready, else the reason (503). Unset: always ready.
    std::function<std::optional<std::string>()> ready;
    /// `POST /api/v1/alerts/alertmanager` hands each alert's event to it (false: 503, so
    /// Alertmanager retries); unset: no such route.
    std::function<bool(std::string_view event_json)> alerts;
    AlertmanagerOptions alertmanager{};
    /// The bearer token Alertmanager must send; empty: none.
    std::string alerts_token;
    /// The proposals API acts through it, as planner-ctl does; null (--dry-run): 503.
    ActionStore* store = nullptr;
    /// For the auth failure window; tests inject a ManualClock.
    SteadyTimeSource now = std::chrono::steady_clock::now;
};

/// The listener. Not copyable; stop() (or the destructor) waits for requests in progress.
class HttpServer {
  public:
    HttpServer(HttpServerOptions options, LogSink& log);
    ~HttpServer();
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;

    /// Binds and starts serving on the server's own threads; returns the bound port (the
    /// kernel's choice for port 0) and logs `http_listening`. Throws std::runtime_error with
    /// one line when the address cannot be bound.
    int start();
    void stop();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace planner::cli
