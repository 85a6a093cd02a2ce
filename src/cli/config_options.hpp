#pragma once

/// \file
/// planner-run and its configuration file: applying it under flags and variables, checking it,
/// printing the effective result, and what a reload may change.

#include <string>
#include <vector>

#include "run_options.hpp"

namespace planner::cli {

/// Loads `options.config` (or the built-in configuration) and fills in every setting that no
/// flag or variable gave: flag > variable > file > built-in default. Records each setting's
/// source in `options.sources`. Returns every error of the file, one line each; `options` is
/// left untouched for the settings of a file with errors.
std::vector<std::string> apply_config(RunOptions& options);

/// `--check-config` on success: the file and what it holds, on one line.
std::string config_summary(const RunOptions& options);

/// `--print-config`: the effective configuration as YAML that --config accepts, secrets
/// redacted, each setting followed by `# flag|variable|file|default`.
std::string print_config(const RunOptions& options);

/// One setting a reload cannot change while running.
struct NeedsRestart {
    std::string setting;
    std::string running;  ///< kept, redacted
    std::string wanted;   ///< in the new file, redacted
};

/// The settings that differ between `running` and `reloaded` but only take effect on restart:
/// Redis, channels and directories (what the process is bound to), the worker pool's size,
/// notification targets and the proposal TTL. Rules, topology, cooldown, node name and the
/// model chain (with its timeouts and key files) are applied by the reload itself.
std::vector<NeedsRestart> needs_restart(const RunOptions& running, const RunOptions& reloaded);

}  // namespace planner::cli
