#include "program_options.hpp"

#include <cstdlib>
#include <system_error>

namespace planner::programs {

std::optional<std::string> process_env(std::string_view name) {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
}

std::string setting_name(const CLI::Option& option) {
    std::string name = option.get_name(false, false);
    while (name.starts_with("-")) name.erase(0, 1);
    return name;
}

Variables detach_variables(CLI::App& app) {
    Variables out;
    for (CLI::Option* opt : app.get_options()) {
        if (opt->get_envname().empty()) continue;
        out.emplace_back(opt, opt->get_envname());
        opt->envname("");
    }
    return out;
}

void apply_variables(const Variables& variables, const EnvLookup& env, Sources& sources,
                     const std::function<void(CLI::Option*, const std::string&)>& before) {
    // Flags first: their callbacks already ran in CLI11's parse.
    for (const auto& [opt, variable] : variables) {
        if (opt->count() > 0) sources[setting_name(*opt)] = "flag";
    }
    // In declaration order, as CLI11 runs the flags' callbacks.
    for (const auto& [opt, variable] : variables) {
        if (opt->count() > 0) continue;
        const auto value = env(variable);
        if (!value || value->empty()) continue;
        if (before) before(opt, variable);
        opt->add_result(*value);
        opt->run_callback();
        sources[setting_name(*opt)] = "variable";
    }
}

std::optional<std::filesystem::path> choose_config_file(
    const std::optional<std::filesystem::path>& given, const std::filesystem::path& default_file) {
    if (given) return given;
    std::error_code ec;
    if (!default_file.empty() && std::filesystem::exists(default_file, ec)) return default_file;
    return std::nullopt;
}

std::filesystem::path default_state_dir(const std::filesystem::path& actions_dir) {
    return actions_dir.parent_path().empty() ? std::filesystem::path(".")
                                             : actions_dir.parent_path();
}

std::filesystem::path default_events_dir(const std::filesystem::path& state_dir) {
    return state_dir / "events";
}

}  // namespace planner::programs
