#include "http_server.hpp"

#include <httplib.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include <planner/detail/json_limits.hpp>

#include "http_alerts.hpp"
#include "http_api.hpp"
#include "http_auth.hpp"
#include "http_page.hpp"

namespace planner::cli {

namespace {

/// httplib's ThreadPool with a bound: at most threads + max_queued connections are taken from
/// the kernel; beyond that the accept thread waits, and clients wait in the listen backlog
/// instead of in memory.
class BoundedTaskQueue final : public httplib::TaskQueue {
  public:
    BoundedTaskQueue(std::size_t threads, std::size_t max_queued)
        : pool_(threads), limit_(threads + max_queued) {}

    void enqueue(std::function<void()> fn) override {
        {
            std::unique_lock lock(mutex_);
            room_.wait(lock, [&] { return taken_ < limit_; });
            ++taken_;
        }
        pool_.enqueue([this, fn = std::move(fn)] {
            fn();
            {
                const std::lock_guard lock(mutex_);
                --taken_;
            }
            room_.notify_one();
        });
    }
    void shutdown() override { pool_.shutdown(); }

  private:
    httplib::ThreadPool pool_;
    std::size_t limit_;
    std::mutex mutex_;
    std::condition_variable room_;
    std::size_t taken_ = 0;
};

/// A request path fit for a log line: printable ASCII only, at most 200 bytes.
std::string loggable(std::string_view path) {
    std::string out;
    for (const char c : path.substr(0, 200)) {
        const auto u = static_cast<unsigned char>(c);
        out += u < 0x20 || u >= 0x7F ? '?' : c;
    }
    if (path.size() > 200) out += "...";
    return out;
}

/// `GET /healthz` and `GET /readyz`: 200 with {"status": "ok"}, or 503 with the reason.
void add_probe(httplib::Server& server, const char* path, const char* failing,
               std::function<std::optional<std::string>()> check) {
    server.Get(
        path, [check = std::move(check), failing](const httplib::Request&, httplib::Response& res) {
            const auto problem = check ? check() : std::nullopt;
            if (problem) {
                reply_json(res, 503, {{"status", failing}, {"reason", *problem}});
            } else {
                reply_json(res, 200, {{"status", "ok"}});
            }
        });
}

}  // namespace

struct HttpServer::Impl {
    Impl(HttpServerOptions options, LogSink& log_sink)
        : o(std::move(options)),
          log(log_sink),
          limiter(AuthLimiterOptions{o.max_auth_failures, o.auth_failure_window}, o.now) {}

    HttpServerOptions o;
    LogSink& log;
    AuthLimiter limiter;
    ProposalApi api;
    AlertReceiver alerts;
    httplib::Server server;
    std::thread thread;
    std::atomic<bool> listening_done{false};
};

HttpServer::HttpServer(HttpServerOptions options, LogSink& log)
    : impl_(std::make_unique<Impl>(std::move(options), log)) {
    auto& s = impl_->server;
    const auto& o = impl_->o;
    const std::size_t threads = o.threads == 0 ? 1 : o.threads;
    const std::size_t queued = o.max_queued;
    s.new_task_queue = [threads, queued] { return new BoundedTaskQueue(threads, queued); };
    // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, with which a second planner-run
    // on the same port would bind too and the kernel would share the requests between them.
    s.set_socket_options([](socket_t sock) {
        int yes = 1;
        ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    s.set_payload_max_length(o.max_body_bytes);
    s.set_read_timeout(o.read_timeout);
    s.set_write_timeout(o.write_timeout);
    s.set_keep_alive_timeout(o.keep_alive_timeout.count());
    s.set_keep_alive_max_count(20);
    s.set_default_headers({{"X-Content-Type-Options", "nosniff"},
                           {"Referrer-Policy", "no-referrer"},
                           {"X-Frame-Options", "DENY"},
                           {"Cache-Control", "no-store"}});

    s.Get("/", [](const httplib::Request&, httplib::Response& res) {
        const auto& page = approval_page();
        res.set_header("Content-Security-Policy", page.content_security_policy);
        res.set_content(page.html, "text/html; charset=utf-8");
    });
    // Browsers ask for it; the page has none, and a 404 would be an error in their console.
    s.Get("/favicon.ico",
          [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
    add_probe(s, "/healthz", "unhealthy", o.health);
    add_probe(s, "/readyz", "not_ready", o.ready);
    s.Get("/metrics", [metrics = o.metrics](const httplib::Request&, httplib::Response& res) {
        if (!metrics) {
            reply_json(res, 404, {{"error", "no metrics in this build"}});
            return;
        }
        res.set_content(metrics(), "text/plain; version=0.0.4; charset=utf-8");
    });
    impl_->api = ProposalApi{o.store, o.token, &impl_->limiter, &impl_->log};
    add_proposal_routes(s, impl_->api);
    impl_->alerts =
        AlertReceiver{o.alertmanager, o.alerts_token, o.alerts, &impl_->limiter, &impl_->log};
    add_alertmanager_route(s, impl_->alerts);

    // Every status from 400 up, routed or not: a JSON body saying what, unless a handler gave
    // one (413 for a large body, 404 for an unknown path come from httplib itself).
    s.set_error_handler(httplib::Server::HandlerWithResponse(
        [max = o.max_body_bytes](const httplib::Request&, httplib::Response& res) {
            if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
            std::string what = res.status == 404   ? "not found"
                               : res.status == 405 ? "method not allowed"
                               : res.status == 413
                                   ? "request body larger than " + std::to_string(max) + " bytes"
                               : res.status == 414 ? "request URI too long"
                                                   : "bad request";
            reply_json(res, res.status, {{"error", what}});
            return httplib::Server::HandlerResponse::Handled;
        }));
    s.set_exception_handler([&log = impl_->log](const httplib::Request& req, httplib::Response& res,
                                                std::exception_ptr ep) {
        std::string what = "unknown exception";
        try {
            if (ep) std::rethrow_exception(ep);
        } catch (const std::exception& e) {
            what = e.what();
        } catch (...) {
        }
        log.log(LogLevel::error, "http_error",
                {{"method", req.method}, {"path", loggable(req.path)}, {"error", what}});
        reply_json(res, 500, {{"error", "internal error"}});
    });
    s.set_logger([&log = impl_->log](const httplib::Request& req, const httplib::Response& res) {
        log.log(LogLevel::debug, "http_request",
                {{"method", loggable(req.method)},
                 {"path", loggable(req.path)},
                 {"status", res.status},
                 {"client", req.remote_addr}});
    });
}

HttpServer::~HttpServer() {
    stop();
}

int HttpServer::start() {
    auto& s = impl_->server;
    const auto& where = impl_->o.listen;
    int port = where.port;
    errno = 0;
    const bool bound =
        port == 0 ? (port = s.bind_to_any_port(where.host)) > 0 : s.bind_to_port(where.host, port);
    if (!bound) {
        const int saved = errno;
        throw std::runtime_error("cannot listen on " + where.to_string() +
                                 (saved != 0 ? std::string(": ") + std::strerror(saved)
                                             : std::string(": address in use or not local")));
    }
    impl_->thread = std::thread([this] {
        impl_->server.listen_after_bind();
        impl_->listening_done = true;
    });
    // stop() is a no-op until the loop runs: wait for it, so a quick stop cannot be lost.
    while (!s.is_running() && !impl_->listening_done) std::this_thread::yield();
    ListenAddress bound_at{where.host, port};
    impl_->log.log(LogLevel::info, "http_listening",
                   {{"address", bound_at.to_string()},
                    {"port", port},
                    {"api", impl_->o.store == nullptr ? "off (dry run)"
                            : impl_->o.token.empty()  ? "read-only (no token file)"
                                                      : "read-write"}});
    return port;
}

void HttpServer::stop() {
    if (!impl_->thread.joinable()) return;
    impl_->server.stop();
    impl_->thread.join();
}

}  // namespace planner::cli
