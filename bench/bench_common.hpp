#pragma once

/// \file
/// What every benchmark program shares: one JSON line per figure on stdout, a table for people
/// on stderr, percentiles, clocks and memory readings.

#include <sys/resource.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/proc_status.hpp"

namespace bench {

/// Monotonic nanoseconds. CLOCK_MONOTONIC is system-wide on Linux, so a time taken in one
/// process can be compared with a time taken in another (publisher vs subscribers).
inline std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

inline double seconds_between(std::int64_t from_ns, std::int64_t to_ns) {
    return static_cast<double>(to_ns - from_ns) / 1e9;
}

/// What a target says about a figure: `value <= limit` or `value >= limit`.
struct Target {
    enum class Kind { none, at_most, at_least };
    Kind kind = Kind::none;
    double limit = 0.0;

    static Target at_most(double v) { return {Kind::at_most, v}; }
    static Target at_least(double v) { return {Kind::at_least, v}; }
    bool met(double value) const {
        if (kind == Kind::at_most) return value <= limit;
        if (kind == Kind::at_least) return value >= limit;
        return true;
    }
    std::string text() const {
        if (kind == Kind::none) return "";
        char buf[48];
        std::snprintf(buf, sizeof buf, "%s %g", kind == Kind::at_most ? "<=" : ">=", limit);
        return buf;
    }
};

/// Collects figures, prints each as a JSON line at once (so a crash keeps what was measured)
/// and the human table at the end.
class Report {
  public:
    explicit Report(std::string bench) : bench_(std::move(bench)) {}

    void figure(const std::string& name, double value, const std::string& unit,
                Target target = {}) {
        nlohmann::json line = {
            {"bench", bench_}, {"figure", name}, {"value", value}, {"unit", unit}};
        if (target.kind != Target::Kind::none) {
            line["target"] = target.text();
            line["met"] = target.met(value);
            if (!target.met(value)) missed_ = true;
        }
        std::printf("%s\n", line.dump().c_str());
        std::fflush(stdout);
        rows_.push_back({name, value, unit, target});
    }

    /// A check that must hold for the benchmark to count (nothing lost, exact route count):
    /// a failed check makes the program exit non-zero.
    void check(const std::string& name, bool ok, const std::string& detail = "") {
        nlohmann::json line = {{"bench", bench_}, {"check", name}, {"ok", ok}};
        if (!detail.empty()) line["detail"] = detail;
        std::printf("%s\n", line.dump().c_str());
        std::fflush(stdout);
        checks_.push_back({name, ok, detail});
        if (!ok) failed_ = true;
    }

    /// The table for people, on stderr so stdout stays machine-readable.
    void print_table() const {
        std::fprintf(stderr, "\n== %s\n", bench_.c_str());
        std::fprintf(stderr, "%-44s %16s %-8s %-12s %s\n", "figure", "value", "unit", "target",
                     "met");
        for (const auto& r : rows_) {
            const std::string target = r.target.text();
            const char* met = r.target.kind == Target::Kind::none ? ""
                              : r.target.met(r.value)             ? "yes"
                                                                  : "NO";
            std::fprintf(stderr, "%-44s %16.3f %-8s %-12s %s\n", r.name.c_str(), r.value,
                         r.unit.c_str(), target.c_str(), met);
        }
        for (const auto& c : checks_) {
            std::fprintf(stderr, "check %-38s %s %s\n", c.name.c_str(), c.ok ? "ok" : "FAILED",
                         c.detail.c_str());
        }
    }

    /// 0 when every check held; a missed target is reported, not a failure, because a shared
    /// 2-core machine cannot promise timing (the docs table says which target was missed).
    int exit_code() const { return failed_ ? 1 : 0; }
    bool missed_target() const { return missed_; }

  private:
    struct Row {
        std::string name;
        double value;
        std::string unit;
        Target target;
    };
    struct Check {
        std::string name;
        bool ok;
        std::string detail;
    };
    std::string bench_;
    std::vector<Row> rows_;
    std::vector<Check> checks_;
    bool failed_ = false;
    bool missed_ = false;
};

/// Nearest-rank percentile of `samples` (sorted in place), `p` in [0, 100].
inline double percentile(std::vector<double>& samples, double p) {
    if (samples.empty()) return 0.0;
    std::sort(samples.begin(), samples.end());
    const double rank = std::ceil(p / 100.0 * static_cast<double>(samples.size()));
    const auto index = static_cast<std::size_t>(std::max(1.0, rank)) - 1;
    return samples[std::min(index, samples.size() - 1)];
}

/// A `VmRSS`/`VmHWM`-style field of /proc/<pid>/status (or `Pss` of smaps_rollup) in KiB.
using planner::testing::proc_status_kib;

/// Peak resident memory of this process, MiB.
inline double self_peak_rss_mib() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

/// `--name value` style options; unknown names are an error so typos do not go unnoticed.
class Args {
  public:
    Args(int argc, char** argv) : args_(argv + 1, argv + argc) {}

    std::string text(std::string_view name, std::string fallback) {
        for (std::size_t i = 0; i + 1 < args_.size(); ++i) {
            if (args_[i] == name) {
                used_.push_back(i);
                used_.push_back(i + 1);
                return args_[i + 1];
            }
        }
        return fallback;
    }
    long number(std::string_view name, long fallback) {
        const std::string s = text(name, "");
        if (s.empty()) return fallback;
        long v = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec != std::errc{} || end != s.data() + s.size()) {
            throw std::invalid_argument("option " + std::string(name) + " needs a number, got '" +
                                        s + "'");
        }
        return v;
    }
    bool flag(std::string_view name) {
        for (std::size_t i = 0; i < args_.size(); ++i) {
            if (args_[i] == name) {
                used_.push_back(i);
                return true;
            }
        }
        return false;
    }
    /// Throws for any argument no accessor asked for.
    void finish() const {
        for (std::size_t i = 0; i < args_.size(); ++i) {
            if (std::find(used_.begin(), used_.end(), i) == used_.end()) {
                throw std::invalid_argument("unknown argument '" + args_[i] + "'");
            }
        }
    }

  private:
    std::vector<std::string> args_;
    std::vector<std::size_t> used_;
};

}  // namespace bench
