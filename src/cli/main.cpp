// planner-run: parse, then hand over. Everything testable lives in run_options and planner_run.

#include <signal.h>

#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <planner/version.hpp>

#include "planner_run.hpp"
#include "run_options.hpp"

int main(int argc, char** argv) {
    using namespace planner::cli;
    const std::vector<std::string> args(argv + 1, argv + argc);
    const ParsedCommand parsed = parse_command_line(args, process_env);
    switch (parsed.command) {
        case Command::help:
            fmt::print("{}", usage());
            return kExitOk;
        case Command::version:
            fmt::print("planner-run {}\n", PLANNER_VERSION_STRING);
            return kExitOk;
        case Command::error:
            fmt::print(stderr, "planner-run: {}\n", parsed.error);
            return kExitUsage;
        case Command::healthcheck:
            return check_heartbeat(parsed.options.heartbeat, parsed.options.max_age);
        case Command::run:
            break;
    }
    // Block the stop signals before any thread starts, so every thread inherits the mask and
    // only the signal thread's sigtimedwait receives them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    signal(SIGPIPE, SIG_IGN);  // a closed stdout in --dry-run is an error, not a kill
    return run_planner(parsed.options, stdout, stderr);
}
