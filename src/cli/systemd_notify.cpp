#include "systemd_notify.hpp"

#include <systemd/sd-daemon.h>

#include <cstdint>
#include <cstdlib>

namespace planner::cli {

namespace {

/// A status line is one line: systemd shows it verbatim.
std::string one_line(std::string text) {
    for (char& c : text) {
        if (c == '\n' || c == '\r') c = ' ';
    }
    return text;
}

}  // namespace

SystemdNotifier::SystemdNotifier() {
    const char* socket = std::getenv("NOTIFY_SOCKET");
    active_ = socket != nullptr && *socket != '\0';
    std::uint64_t usec = 0;
    if (active_ && sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        watchdog_interval_ = std::chrono::milliseconds{std::max<std::uint64_t>(usec / 2000, 1)};
    }
}

void SystemdNotifier::send(const std::string& state) {
    if (active_) sd_notify(0, state.c_str());
}

void SystemdNotifier::ready(const std::string& status) {
    send("READY=1\nSTATUS=" + one_line(status));
}

void SystemdNotifier::status(const std::string& status) {
    send("STATUS=" + one_line(status));
}

void SystemdNotifier::watchdog() {
    send("WATCHDOG=1");
}

void SystemdNotifier::stopping() {
    send("STOPPING=1\nSTATUS=stopping: finishing queued work");
}

}  // namespace planner::cli
