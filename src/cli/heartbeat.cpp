#include "heartbeat.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include <planner/clock.hpp>
#include <planner/file_sinks.hpp>

#include "planner_run.hpp"

namespace planner::cli {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string status_line(const PlannerAgent& agent) {
    const auto c = agent.counters();
    std::uint64_t proposals = 0;
    for (const auto& [action, n] : c.proposals) proposals += n;
    return "planning: " + std::to_string(c.received_total()) + " messages, " +
           std::to_string(proposals) + " proposals, " + std::to_string(c.chain_failures) +
           " chain failures, " + std::to_string(c.write_failures) + " write failures";
}

}  // namespace

std::string Health::reason() const {
    if (healthy) return "";
    return "a model call has been running for " +
           std::to_string(std::chrono::duration_cast<std::chrono::seconds>(oldest_call).count()) +
           " s, longer than the whole chain could take (" +
           std::to_string(std::chrono::duration_cast<std::chrono::seconds>(limit).count()) +
           " s): a worker is wedged";
}

std::chrono::milliseconds stuck_after(const RunOptions& o) {
    return o.llm_timeout * static_cast<long>(o.models.size()) * 3 + 60s;
}

Health check_health(const RunOptions& o, const PlannerAgent& agent) {
    Health h;
    h.limit = stuck_after(o);
    h.oldest_call = agent.oldest_in_flight_age();
    h.healthy = h.oldest_call < h.limit;
    return h;
}

void heartbeat_loop(const RunOptions& o, const PlannerAgent& agent, StopSignal& stop, LogSink& log,
                    SystemdNotifier& systemd) {
    const bool write_file = !o.heartbeat.empty() && !o.dry_run;
    auto interval = o.heartbeat_interval;
    if (const auto w = systemd.watchdog_interval()) interval = std::min(interval, *w);
    bool paused = false;
    bool write_failed = false;
    do {
        const Health health = check_health(o, agent);
        const bool healthy = health.healthy;
        if (healthy != !paused) {
            paused = !healthy;
            log.log(paused ? LogLevel::warn : LogLevel::info,
                    paused ? "heartbeat_paused" : "heartbeat_resumed",
                    {{"stuck_after_s", std::chrono::duration<double>(health.limit).count()}});
        }
        if (!healthy) continue;
        systemd.watchdog();
        systemd.status(status_line(agent));
        if (!write_file) continue;
        try {
            write_file_atomically(o.heartbeat,
                                  format_utc_timestamp(std::chrono::system_clock::now()) + "\n",
                                  /*fsync=*/false);
            write_failed = false;
        } catch (const std::exception& e) {
            if (!write_failed) {
                log.log(LogLevel::error, "heartbeat_failed",
                        {{"path", o.heartbeat.string()}, {"error", e.what()}});
            }
            write_failed = true;
        }
    } while (!stop.wait_for(interval));
}

int check_heartbeat(const fs::path& heartbeat, std::chrono::milliseconds max_age,
                    std::chrono::system_clock::time_point now) {
    struct stat st {};
    if (::stat(heartbeat.c_str(), &st) != 0) return kExitUnhealthy;
    const auto modified = std::chrono::system_clock::time_point{
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds{st.st_mtim.tv_sec} +
            std::chrono::nanoseconds{st.st_mtim.tv_nsec})};
    return now - modified < max_age ? kExitOk : kExitUnhealthy;
}

}  // namespace planner::cli
