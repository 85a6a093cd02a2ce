#pragma once

/// \file
/// planner-run's Prometheus metrics: what `GET /metrics` returns, in the text format 0.0.4.
/// Nothing is counted here: every family is built at scrape time from the counters the agent,
/// the notifier and the action store keep anyway, so a value is never counted twice and an idle
/// planner pays nothing. docs/operations.md lists every name.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <planner/action_store.hpp>
#include <planner/agent.hpp>
#include <planner/notifier.hpp>

namespace planner::cli {

/// Configuration reloads (SIGHUP) by result: bumped by the reload handler, read by the exporter
/// and the exit summary.
struct ReloadCounters {
    std::atomic<std::uint64_t> succeeded{0};
    std::atomic<std::uint64_t> failed{0};
};

/// Serialises the planner's state as Prometheus text. Thread-safe: scrape() only reads.
class MetricsExporter {
  public:
    /// What a scrape reads; everything must outlive the exporter. A null source leaves its
    /// families out (no action store in --dry-run, no Redis in --replay, no notify targets).
    struct Sources {
        const PlannerAgent& agent;
        /// planner_pending_proposals.
        ActionStore* store = nullptr;
        /// planner_notifications_total.
        const Notifier* notifier = nullptr;
        /// planner_redis_connected: true while subscribed.
        const std::atomic<bool>* redis_connected = nullptr;
        /// planner_config_reloads_total.
        const ReloadCounters* reloads = nullptr;
    };

    /// The Content-Type of scrape()'s text.
    static constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

    explicit MetricsExporter(Sources sources);
    ~MetricsExporter();
    MetricsExporter(const MetricsExporter&) = delete;
    MetricsExporter& operator=(const MetricsExporter&) = delete;

    /// Every family, now, in the Prometheus text format 0.0.4.
    std::string scrape() const;

  private:
    class Collector;
    std::unique_ptr<Collector> collector_;
};

}  // namespace planner::cli
