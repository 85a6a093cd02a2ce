#pragma once

// The command-line parsers with an injected environment and no machine configuration, for
// tests that must not depend on the variables or the /etc of the machine that runs them.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "run_options.hpp"

namespace planner::testing {

/// A variable lookup over `env` alone.
inline programs::EnvLookup env_lookup(std::map<std::string, std::string> env) {
    return [env = std::move(env)](std::string_view name) -> std::optional<std::string> {
        const auto it = env.find(std::string(name));
        if (it == env.end()) return std::nullopt;
        return it->second;
    };
}

/// planner-run's parse_command_line over `env`, and never the machine's
/// /etc/homelab-planner/planner.yaml.
inline cli::ParsedCommand parse(std::vector<std::string> args,
                                std::map<std::string, std::string> env = {}) {
    return cli::parse_command_line(args, env_lookup(std::move(env)),
                                   "/nonexistent/homelab-planner/planner.yaml");
}

}  // namespace planner::testing
