#include "heartbeat.hpp"

#include <sys/stat.h>

#include <planner/clock.hpp>
#include <planner/file_sinks.hpp>

#include "planner_run.hpp"

namespace planner::cli {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

void heartbeat_loop(const RunOptions& o, const PlannerAgent& agent, StopSignal& stop,
                    LogSink& log) {
    const auto stuck_after = o.llm_timeout * static_cast<long>(o.models.size()) * 3 + 60s;
    bool paused = false;
    bool write_failed = false;
    do {
        const bool healthy = agent.oldest_in_flight_age() < stuck_after;
        if (healthy != !paused) {
            paused = !healthy;
            log.log(paused ? LogLevel::warn : LogLevel::info,
                    paused ? "heartbeat_paused" : "heartbeat_resumed",
                    {{"stuck_after_s", std::chrono::duration<double>(stuck_after).count()}});
        }
        if (!healthy) continue;
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
    } while (!stop.wait_for(o.heartbeat_interval));
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
