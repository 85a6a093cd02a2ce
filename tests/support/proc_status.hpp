#pragma once

/// Memory figures of a running process from /proc, for the tests' and the benchmarks' footprint
/// checks (bench/ includes tests/support/ too, so the two read them the same way).

#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

namespace planner::testing {

/// A `Field: value kB` line of /proc/<pid>/`file` in KiB (`VmRSS`, `RssAnon`, `VmHWM` from
/// "status"; `Pss` from "smaps_rollup"); pid 0 or less reads this process. nullopt when the
/// process or the field is missing.
inline std::optional<double> proc_status_kib(long pid, std::string_view field,
                                             const std::string& file = "status") {
    std::ifstream in("/proc/" + (pid > 0 ? std::to_string(pid) : std::string("self")) + "/" + file);
    std::string line;
    while (std::getline(in, line)) {
        if (line.starts_with(field) && line.size() > field.size() && line[field.size()] == ':') {
            return std::strtod(line.c_str() + field.size() + 1, nullptr);
        }
    }
    return std::nullopt;
}

}  // namespace planner::testing
