#pragma once

/// \file
/// The wedge detector: a file touched while the planner is healthy, and the check that reads it.

#include <chrono>
#include <filesystem>
#include <string>

#include <planner/agent.hpp>
#include <planner/log.hpp>

#include "run_options.hpp"
#include "signals.hpp"
#include "systemd_notify.hpp"

namespace planner::cli {

/// The health condition, one definition for the heartbeat file, systemd's watchdog and the
/// HTTP listener's /healthz: healthy while no router call has run longer than `limit` (the
/// whole chain's attempts three times over, plus a minute).
struct Health {
    bool healthy = true;
    std::chrono::milliseconds limit{};
    std::chrono::steady_clock::duration oldest_call{};

    /// One line for a log or a 503: why the planner counts as wedged; empty when healthy.
    std::string reason() const;
};

/// How long a router call may run before the planner counts as wedged.
std::chrono::milliseconds stuck_after(const RunOptions& o);

Health check_health(const RunOptions& o, const PlannerAgent& agent);

/// Touches the heartbeat file every interval while the planner is healthy. Healthy means no
/// router call has been running longer than the whole chain could take: a wedged worker stops
/// the heartbeat, and the healthcheck restarts the process. Redis being away does not: the
/// subscriber reconnects by itself and a restart would not bring Redis back.
/// The same health condition feeds systemd: WATCHDOG=1 only while healthy (so WatchdogSec=
/// restarts a wedged planner) and a STATUS= line with the counters, every heartbeat interval
/// or half the watchdog period, whichever is shorter. The file is written only when
/// `--heartbeat` names one (and not in a dry run).
void heartbeat_loop(const RunOptions& o, const PlannerAgent& agent, StopSignal& stop, LogSink& log,
                    SystemdNotifier& systemd);

/// `--healthcheck`: 0 when `heartbeat` was modified less than `max_age` before `now`, else 1.
int check_heartbeat(const std::filesystem::path& heartbeat, std::chrono::milliseconds max_age,
                    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace planner::cli
