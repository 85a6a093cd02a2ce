// planner-run: parse, then hand over. Everything testable lives in run_options and planner_run.

#include <signal.h>

#include <cstdio>
#include <string>
#include <vector>

#include <fmt/format.h>

#include <planner/version.hpp>

#include "config_options.hpp"
#include "eval.hpp"
#include "planner_run.hpp"
#include "run_options.hpp"

int main(int argc, char** argv) {
    using namespace planner::cli;
    const std::vector<std::string> args(argv + 1, argv + argc);
    ParsedCommand parsed = parse_command_line(args, process_env);
    switch (parsed.command) {
        case Command::help:
            fmt::print("{}", usage());
            return kExitOk;
        case Command::flags_markdown:
            fmt::print("{}", flags_markdown());
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
        case Command::check_config:
        case Command::print_config:
        case Command::eval:
            break;
    }
    // flag > variable > file > built-in default: the file fills what flags and variables left.
    if (const auto errors = apply_config(parsed.options); !errors.empty()) {
        for (const auto& e : errors) fmt::print(stderr, "{}\n", e);
        return kExitUsage;
    }
    if (parsed.command == Command::check_config) {
        fmt::print("{}\n", config_summary(parsed.options));
        return kExitOk;
    }
    if (parsed.command == Command::print_config) {
        fmt::print("{}", print_config(parsed.options));
        return kExitOk;
    }
    if (parsed.command == Command::eval) return run_eval(parsed.options, stdout, stderr);
    // Block the stop and reload signals before any thread starts, so every thread inherits the
    // mask and only the signal thread's sigtimedwait receives them.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    signal(SIGPIPE, SIG_IGN);  // a closed stdout in --dry-run is an error, not a kill
    const Reloader reload = [&args](RunOptions& next) {
        ParsedCommand again = parse_command_line(args, process_env);
        if (again.command == Command::error) return std::vector<std::string>{again.error};
        next = std::move(again.options);
        return apply_config(next);
    };
    return run_planner(parsed.options, stdout, stderr, reload);
}
