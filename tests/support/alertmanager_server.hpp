#pragma once

/// A real Prometheus Alertmanager (Debian's prometheus-alertmanager) on a free loopback port,
/// clustering off, whose one receiver is a webhook: the planner's intake, or a test's server.
/// Alerts are posted to its API v2 as Prometheus would; it then groups them and calls the
/// webhook with its version 4 payload.

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "support/process.hpp"
#include "support/redis_server.hpp"
#include "support/temp_dir.hpp"

namespace planner::testing {

/// The Alertmanager binary, or an empty path when it is not installed.
inline std::filesystem::path alertmanager_binary() {
    for (const char* p : {"/usr/bin/prometheus-alertmanager", "/usr/bin/alertmanager"}) {
        if (std::filesystem::exists(p)) return p;
    }
    return {};
}

struct AlertmanagerServerOptions {
    std::string webhook_url;
    /// Sent as `Authorization: Bearer <token>` when not empty.
    std::string bearer_token;
    bool send_resolved = true;
};

class AlertmanagerServer {
  public:
    explicit AlertmanagerServer(AlertmanagerServerOptions options)
        : port_(free_loopback_port()), options_(std::move(options)) {
        const auto binary = alertmanager_binary();
        if (binary.empty()) throw std::runtime_error("prometheus-alertmanager is not installed");
        // Group each alert alone and send at once: the test waits for one call per alert.
        std::string config =
            "route:\n"
            "  receiver: planner\n"
            "  group_by: ['...']\n"
            "  group_wait: 0s\n"
            "  group_interval: 1s\n"
            "  repeat_interval: 1h\n"
            "receivers:\n"
            "  - name: planner\n"
            "    webhook_configs:\n"
            "      - url: '" +
            options_.webhook_url + "'\n" +
            "        send_resolved: " + (options_.send_resolved ? "true" : "false") + "\n";
        if (!options_.bearer_token.empty()) {
            write_text(dir_ / "token", options_.bearer_token);
            config +=
                "        http_config:\n          authorization:\n            "
                "credentials_file: '" +
                (dir_ / "token").string() + "'\n";
        }
        write_text(dir_ / "alertmanager.yml", config);
        process_ = std::make_unique<Process>(ProcessOptions{
            .argv = {binary.string(), "--config.file=" + (dir_ / "alertmanager.yml").string(),
                     "--storage.path=" + (dir_ / "data").string(),
                     "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                     "--cluster.listen-address=", "--log.level=debug"},
            .stdout_stream = dir_ / "alertmanager.out",
            .stderr_stream = dir_ / "alertmanager.log",
        });
        if (!eventually([this] { return ready() || !process_->running(); },
                        std::chrono::seconds(20)) ||
            !ready()) {
            throw std::runtime_error("alertmanager did not become ready on port " +
                                     std::to_string(port_) + ": " + log_text());
        }
    }
    ~AlertmanagerServer() {
        if (process_) {
            process_->signal(SIGKILL);
            process_->wait(std::chrono::seconds{10});
        }
    }
    AlertmanagerServer(const AlertmanagerServer&) = delete;
    AlertmanagerServer& operator=(const AlertmanagerServer&) = delete;

    int port() const noexcept { return port_; }

    /// POST /api/v2/alerts, as Prometheus does; true on 200.
    bool post_alerts(const nlohmann::json& alerts) const {
        httplib::Client c("127.0.0.1", port_);
        const auto r = c.Post("/api/v2/alerts", alerts.dump(), "application/json");
        return r && r->status == 200;
    }

    /// What Alertmanager logged: why a webhook call failed, how often it retried.
    std::string log_text() const { return read_text(dir_ / "alertmanager.log"); }

  private:
    bool ready() const {
        httplib::Client c("127.0.0.1", port_);
        c.set_connection_timeout(std::chrono::milliseconds(200));
        const auto r = c.Get("/-/ready");
        return r && r->status == 200;
    }

    TempDir dir_;
    int port_;
    AlertmanagerServerOptions options_;
    std::unique_ptr<Process> process_;
};

}  // namespace planner::testing
