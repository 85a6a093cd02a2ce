/// planner-run under Type=notify: a datagram socket stands in for systemd and receives what a
/// real systemd would (READY=1 once subscribed, STATUS=, WATCHDOG=1 while healthy, STOPPING=1).

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "systemd_notify.hpp"

#include "support/planner_run_process.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"
#include "support/temp_dir.hpp"

#ifdef PLANNER_RUN_PATH

using namespace planner::testing;
using namespace std::chrono_literals;

namespace {

/// The receiving end of NOTIFY_SOCKET: one datagram per sd_notify call.
class FakeSystemd {
  public:
    explicit FakeSystemd(std::filesystem::path path) : path_(std::move(path)) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd_ >= 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        REQUIRE(path_.string().size() < sizeof addr.sun_path);
        std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    }
    ~FakeSystemd() { ::close(fd_); }
    FakeSystemd(const FakeSystemd&) = delete;
    FakeSystemd& operator=(const FakeSystemd&) = delete;

    const std::filesystem::path& path() const { return path_; }

    /// Datagrams until one contains `wanted` (returned), or "" after `timeout`.
    std::string wait_for(const std::string& wanted, std::chrono::milliseconds timeout = 15s) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) continue;
            char buf[4096];
            const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) continue;
            std::string message(buf, static_cast<std::size_t>(n));
            received_.push_back(message);
            if (message.find(wanted) != std::string::npos) return message;
        }
        return "";
    }
    const std::vector<std::string>& received() const { return received_; }

  private:
    std::filesystem::path path_;
    int fd_ = -1;
    std::vector<std::string> received_;
};

}  // namespace

TEST_CASE("systemd: READY once subscribed, watchdog while healthy, STOPPING on SIGTERM",
          "[systemd]") {
    TempDir tmp;
    RedisServer redis;
    FakeSystemd systemd(tmp / "notify.sock");
    PlannerRunProcess run(
        kPlannerRun, tmp,
        {"--redis", redis.url(), "--model", "rules", "--actions-dir", (tmp / "actions").string(),
         "--events-dir", (tmp / "events").string()},
        {{"NOTIFY_SOCKET", systemd.path().string()}, {"WATCHDOG_USEC", "200000"}});
    const auto ready = systemd.wait_for("READY=1");
    REQUIRE_FALSE(ready.empty());
    CHECK_THAT(ready, Catch::Contains("STATUS=subscribed to 2 channels on redis://127.0.0.1:"));
    // Subscribed before READY: an event published now is planned, not lost.
    CHECK(redis.subscribers("health_events") == 1);
    // Half of WatchdogSec (0.2 s): several pings arrive within a second or two.
    int pings = 0;
    for (int i = 0; i < 3; ++i) pings += systemd.wait_for("WATCHDOG=1", 5s).empty() ? 0 : 1;
    CHECK(pings == 3);
    CHECK_THAT(systemd.wait_for("STATUS=planning:"), Catch::Contains("messages"));
    REQUIRE(run.process().signal(SIGTERM));
    CHECK_FALSE(systemd.wait_for("STOPPING=1").empty());
    CHECK(run.wait(30s) == 0);
}

TEST_CASE("systemd: without NOTIFY_SOCKET the notifier does nothing", "[systemd]") {
    // The test process itself has no NOTIFY_SOCKET unless run by systemd.
    if (std::getenv("NOTIFY_SOCKET") != nullptr) {
        WARN("NOTIFY_SOCKET is set for the test run itself; nothing to check");
        return;
    }
    planner::cli::SystemdNotifier notifier;
    CHECK_FALSE(notifier.active());
    CHECK_FALSE(notifier.watchdog_interval());
    notifier.ready("x");  // must not crash or send anywhere
    notifier.watchdog();
    notifier.stopping();
}

#endif  // PLANNER_RUN_PATH
