#pragma once

/// \file
/// The precedence both programs apply to a setting: a flag, else its variable, else the
/// configuration file, else the built-in default. Flags are CLI11 options; each option's
/// variable is its `envname()`, read here through an injectable lookup rather than by CLI11
/// (which calls getenv), so tests give variables without touching the process environment.

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

namespace planner::programs {

/// Looks up an environment variable; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

/// The process environment.
std::optional<std::string> process_env(std::string_view name);

/// The configuration file both programs read when neither --config nor PLANNER_CONFIG names
/// one, if it exists.
inline constexpr std::string_view kDefaultConfigFile = "/etc/homelab-planner/planner.yaml";

/// Setting (the flag's name without dashes) → "flag", "variable", "file" or "default".
using Sources = std::map<std::string, std::string>;

/// Each option with a variable, in declaration order, and the variable's name.
using Variables = std::vector<std::pair<CLI::Option*, std::string>>;

/// Takes the variables out of `app`'s options: clears every `envname()` so that CLI11's own
/// parse reads none, and returns them, in declaration order. Call before `app.parse`.
Variables detach_variables(CLI::App& app);

/// After `app.parse`: every option of `variables` that no flag gave and whose variable is set
/// and not empty gets the variable's value, through the option's checks and callback as a flag
/// would. `before(option, variable)` runs first (to name the variable in an error). Records
/// "flag" for the options given on the command line and "variable" for these in `sources`.
void apply_variables(const Variables& variables, const EnvLookup& env, Sources& sources,
                     const std::function<void(CLI::Option*, const std::string&)>& before = {});

/// The setting's name in `sources`: the option's long name without dashes.
std::string setting_name(const CLI::Option& option);

/// The third step: `value` from the file applies where no flag or variable gave the setting.
template <typename T, typename Assign>
void take_from_file(Sources& sources, const std::string& setting, const std::optional<T>& value,
                    const std::string& label, Assign&& assign) {
    if (!value || sources.count(setting)) return;
    assign(*value);
    sources[setting] = label;
}

/// Which configuration file to read: `given` (the flag or PLANNER_CONFIG) when set, else
/// `default_file` when it exists, else none.
std::optional<std::filesystem::path> choose_config_file(
    const std::optional<std::filesystem::path>& given, const std::filesystem::path& default_file);

/// The default state directory: the actions directory's parent ("." for a bare name).
std::filesystem::path default_state_dir(const std::filesystem::path& actions_dir);

/// The default events directory: `<state_dir>/events`.
std::filesystem::path default_events_dir(const std::filesystem::path& state_dir);

}  // namespace planner::programs
