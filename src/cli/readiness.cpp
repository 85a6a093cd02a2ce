#include "readiness.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace planner::cli {

namespace fs = std::filesystem;

std::optional<std::string> unwritable_output(const RunOptions& o) {
    if (o.dry_run) return std::nullopt;
    const auto check = [](const char* what, fs::path dir) -> std::optional<std::string> {
        std::error_code ec;
        // A directory not made yet is made in its nearest existing parent.
        while (!dir.empty() && !fs::exists(dir, ec) && dir.has_parent_path() &&
               dir.parent_path() != dir) {
            dir = dir.parent_path();
        }
        if (dir.empty()) dir = ".";
        if (::access(dir.c_str(), W_OK | X_OK) != 0) {
            return std::string(what) + " " + dir.string() +
                   " is not writable: " + std::strerror(errno);
        }
        return std::nullopt;
    };
    if (auto p = check("actions directory", o.actions_dir)) return p;
    if (auto p = check("events directory", o.events_dir)) return p;
    return check("state directory", o.state_dir);
}

}  // namespace planner::cli
