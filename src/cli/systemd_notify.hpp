#pragma once

/// \file
/// systemd's notify protocol for `Type=notify` units: readiness, a status line, watchdog pings
/// and stopping. Every call is a no-op when systemd did not ask (no NOTIFY_SOCKET), so the same
/// binary runs unchanged from a shell, a container or a test.

#include <chrono>
#include <optional>
#include <string>

namespace planner::cli {

class SystemdNotifier {
  public:
    /// Reads NOTIFY_SOCKET and WATCHDOG_USEC/WATCHDOG_PID (libsystemd's sd_watchdog_enabled).
    SystemdNotifier();

    bool active() const noexcept { return active_; }
    /// How often to ping: half of WatchdogSec, as sd_watchdog_enabled(3) advises; nullopt when
    /// systemd set no watchdog for this process.
    std::optional<std::chrono::milliseconds> watchdog_interval() const noexcept {
        return watchdog_interval_;
    }

    /// READY=1 with a status line: intake is subscribed and planning.
    void ready(const std::string& status);
    /// STATUS=, the one line `systemctl status` shows.
    void status(const std::string& status);
    /// WATCHDOG=1; call only while healthy, so WatchdogSec= restarts a wedged planner.
    void watchdog();
    /// STOPPING=1: a stop was requested and queued work is finishing.
    void stopping();

  private:
    void send(const std::string& state);

    bool active_ = false;
    std::optional<std::chrono::milliseconds> watchdog_interval_;
};

}  // namespace planner::cli
