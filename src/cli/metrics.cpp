#include "metrics.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <optional>
#include <sstream>
#include <utility>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <planner/version.hpp>

namespace planner::cli {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using Labels = std::vector<ClientMetric::Label>;

MetricFamily family(std::string name, std::string help, MetricType type) {
    return MetricFamily{std::move(name), std::move(help), type, {}};
}

void add_counter(MetricFamily& f, Labels labels, double value) {
    ClientMetric m;
    m.label = std::move(labels);
    m.counter.value = value;
    f.metric.push_back(std::move(m));
}

void add_gauge(MetricFamily& f, Labels labels, double value) {
    ClientMetric m;
    m.label = std::move(labels);
    m.gauge.value = value;
    f.metric.push_back(std::move(m));
}

/// A family holding one unlabelled sample.
MetricFamily single(std::string name, std::string help, MetricType type, double value) {
    auto f = family(std::move(name), std::move(help), type);
    if (type == MetricType::Counter) {
        add_counter(f, {}, value);
    } else {
        add_gauge(f, {}, value);
    }
    return f;
}

/// What the kernel says about this process, read at scrape time from /proc.
struct ProcessStats {
    std::optional<double> resident_bytes;
    std::optional<double> cpu_seconds;
    std::optional<double> start_time_seconds;  ///< since the epoch
    std::optional<double> open_fds;
};

/// The boot time, in seconds since the epoch (`btime` in /proc/stat).
std::optional<double> boot_time() {
    std::ifstream in("/proc/stat");
    std::string key;
    while (in >> key) {
        if (key == "btime") {
            double btime = 0;
            if (in >> btime) return btime;
            return std::nullopt;
        }
        in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
    }
    return std::nullopt;
}

ProcessStats process_stats() {
    ProcessStats s;
    // /proc/self/stat: the fields after the command, which is in parentheses and may hold
    // spaces, so the split starts after its last ')'. proc(5) numbers them from 1; field 3
    // (state) is the first after it.
    std::ifstream stat_file("/proc/self/stat");
    std::string line;
    if (std::getline(stat_file, line)) {
        const auto close = line.rfind(')');
        if (close != std::string::npos) {
            std::istringstream fields(line.substr(close + 1));
            std::vector<std::string> f;
            for (std::string field; fields >> field;) f.push_back(field);
            const auto field = [&](std::size_t number) -> std::optional<double> {
                const std::size_t i = number - 3;
                if (i >= f.size()) return std::nullopt;
                try {
                    return std::stod(f[i]);
                } catch (const std::exception&) {
                    return std::nullopt;
                }
            };
            const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
            const auto utime = field(14);
            const auto stime = field(15);
            if (utime && stime && ticks > 0) s.cpu_seconds = (*utime + *stime) / ticks;
            const auto start = field(22);
            const auto btime = boot_time();
            if (start && btime && ticks > 0) s.start_time_seconds = *btime + *start / ticks;
            const auto rss = field(24);
            const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
            if (rss && page > 0) s.resident_bytes = *rss * page;
        }
    }
    std::error_code ec;
    double fds = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
         it.increment(ec)) {
        ++fds;
    }
    if (!ec) s.open_fds = fds;
    return s;
}

void add_process_families(std::vector<MetricFamily>& out) {
    const auto s = process_stats();
    const auto add = [&](std::optional<double> value, const char* name, const char* help,
                         MetricType type) {
        if (value) out.push_back(single(name, help, type, *value));
    };
    add(s.cpu_seconds, "process_cpu_seconds_total",
        "Total user and system CPU time spent in seconds.", MetricType::Counter);
    add(s.open_fds, "process_open_fds", "Number of open file descriptors.", MetricType::Gauge);
    add(s.resident_bytes, "process_resident_memory_bytes", "Resident memory size in bytes.",
        MetricType::Gauge);
    add(s.start_time_seconds, "process_start_time_seconds",
        "Start time of the process since unix epoch in seconds.", MetricType::Gauge);
}

}  // namespace

/// Builds every family from snapshots; owns nothing that counts.
class MetricsExporter::Collector final : public prometheus::Collectable {
  public:
    explicit Collector(Sources sources) : s_(sources) {}

    std::vector<MetricFamily> Collect() const override {
        std::vector<MetricFamily> out;
        add_agent_families(out);
        if (s_.notifier != nullptr) add_notifier_family(out);
        if (s_.store != nullptr) {
            out.push_back(single("planner_pending_proposals",
                                 "Node/services with a proposal waiting for a human decision.",
                                 MetricType::Gauge,
                                 static_cast<double>(s_.store->count_pending())));
        }
        if (s_.redis_connected != nullptr) {
            out.push_back(single("planner_redis_connected",
                                 "1 while subscribed to Redis, 0 while (re)connecting.",
                                 MetricType::Gauge, s_.redis_connected->load() ? 1.0 : 0.0));
        }
        if (s_.reloads != nullptr) {
            auto f = family("planner_config_reloads_total",
                            "Configuration reloads (SIGHUP) by result.", MetricType::Counter);
            add_counter(f, {{"result", "success"}},
                        static_cast<double>(s_.reloads->succeeded.load()));
            add_counter(f, {{"result", "failure"}}, static_cast<double>(s_.reloads->failed.load()));
            out.push_back(std::move(f));
        }
        auto info = family("planner_build_info", "The running planner's version; always 1.",
                           MetricType::Gauge);
        add_gauge(info, {{"version", PLANNER_VERSION_STRING}}, 1.0);
        out.push_back(std::move(info));
        add_process_families(out);
        return out;
    }

  private:
    void add_agent_families(std::vector<MetricFamily>& out) const {
        const auto c = s_.agent.counters();
        const auto n = [](std::uint64_t v) { return static_cast<double>(v); };

        auto received = family("planner_messages_received_total",
                               "Messages received, valid or not, by channel (a replayed line: its "
                               "recorded channel, else replay).",
                               MetricType::Counter);
        for (const auto& [channel, count] : c.received) {
            add_counter(received, {{"channel", channel}}, n(count));
        }
        out.push_back(std::move(received));

        auto skipped = family("planner_events_skipped_total", "Events not planned, by reason.",
                              MetricType::Counter);
        for (const auto& [reason, count] :
             std::initializer_list<std::pair<const char*, std::uint64_t>>{
                 {"malformed", c.malformed},
                 {"benign", c.benign},
                 {"cooldown", c.cooldown},
                 {"coalesced", c.coalesced},
                 {"pending", c.pending},
                 {"silenced", c.silenced},
                 {"inhibited", c.inhibited},
                 {"queue_full", c.queue_full},
                 {"stopping", c.stopping},
                 {"abandoned", c.abandoned}}) {
            add_counter(skipped, {{"reason", reason}}, n(count));
        }
        out.push_back(std::move(skipped));

        auto proposals =
            family("planner_proposals_total", "Proposals made, by action (ignore included).",
                   MetricType::Counter);
        for (const auto& [action, count] : c.proposals) {
            add_counter(proposals, {{"action", action}}, n(count));
        }
        out.push_back(std::move(proposals));

        auto budget = family("planner_budget_forced_human_total",
                             "Proposals that needed a human because rules.budget was used up.",
                             MetricType::Counter);
        add_counter(budget, {}, n(c.budget_forced_human));
        out.push_back(std::move(budget));

        auto escalations = family("planner_escalations_total",
                                  "Escalations by rules.escalate: new proposals (flapping, or the "
                                  "previous one failed) and pending ones seen `after` times.",
                                  MetricType::Counter);
        add_counter(escalations, {{"kind", "proposal"}}, n(c.escalated));
        add_counter(escalations, {{"kind", "pending"}}, n(c.escalated_pending));
        out.push_back(std::move(escalations));

        auto requests = family("planner_model_requests_total",
                               "Attempts at each model, by how they ended.", MetricType::Counter);
        auto latency = family("planner_model_request_duration_seconds",
                              "How long each model took to answer or fail (skipped attempts "
                              "excluded).",
                              MetricType::Histogram);
        for (const auto& [model, m] : c.models) {
            for (const auto& [status, count] : m.attempts) {
                add_counter(requests, {{"model", model}, {"status", status}}, n(count));
            }
            ClientMetric h;
            h.label = {{"model", model}};
            h.histogram.sample_count = m.latency_count;
            h.histogram.sample_sum = m.latency_seconds_sum;
            std::uint64_t cumulative = 0;
            for (std::size_t i = 0; i < m.latency_buckets.size(); ++i) {
                cumulative += m.latency_buckets[i];
                h.histogram.bucket.push_back(
                    {cumulative, i < kModelLatencyBuckets.size()
                                     ? kModelLatencyBuckets[i]
                                     : std::numeric_limits<double>::infinity()});
            }
            latency.metric.push_back(std::move(h));
        }
        out.push_back(std::move(requests));
        out.push_back(std::move(latency));

        out.push_back(single("planner_chain_failures_total",
                             "Events for which no model in the chain gave a valid answer.",
                             MetricType::Counter, n(c.chain_failures)));
        out.push_back(single("planner_write_failures_total",
                             "Proposals that could not be written to the actions directory.",
                             MetricType::Counter, n(c.write_failures)));
        out.push_back(single("planner_queue_depth", "Events waiting for a worker.",
                             MetricType::Gauge, static_cast<double>(s_.agent.queue_depth())));
        out.push_back(single("planner_in_flight", "Events a worker is planning now.",
                             MetricType::Gauge, static_cast<double>(s_.agent.in_flight())));
    }

    void add_notifier_family(std::vector<MetricFamily>& out) const {
        const auto c = s_.notifier->counters();
        auto f = family("planner_notifications_total",
                        "Notifications by target and outcome: sent, failed (after every try), "
                        "dropped (queue full).",
                        MetricType::Counter);
        for (const auto& [target, t] : c.targets) {
            add_counter(f, {{"target", target}, {"status", "sent"}}, static_cast<double>(t.sent));
            add_counter(f, {{"target", target}, {"status", "failed"}},
                        static_cast<double>(t.failed));
            add_counter(f, {{"target", target}, {"status", "dropped"}},
                        static_cast<double>(t.dropped));
        }
        out.push_back(std::move(f));
    }

    Sources s_;
};

MetricsExporter::MetricsExporter(Sources sources)
    : collector_(std::make_unique<Collector>(sources)) {}

MetricsExporter::~MetricsExporter() = default;

std::string MetricsExporter::scrape() const {
    return prometheus::TextSerializer().Serialize(collector_->Collect());
}

}  // namespace planner::cli
