#include <algorithm>

#include "agent_detail.hpp"
#include "chain_detail.hpp"
#include "planner/url.hpp"
#include "url_parts.hpp"

namespace planner {

namespace {

/// Channel names come from the bus; past this many, they share one counter.
constexpr std::size_t kMaxCountedChannels = 64;
constexpr std::string_view kOtherLabel = "(other)";
/// Model names come from the router (a custom one may invent them); past this many, they share
/// one entry, so a metric's label set stays bounded.
constexpr std::size_t kMaxCountedModels = 32;

}  // namespace

std::string_view to_string(IntakeResult r) noexcept {
    switch (r) {
        case IntakeResult::queued:
            return "queued";
        case IntakeResult::malformed:
            return "malformed";
        case IntakeResult::benign:
            return "benign";
        case IntakeResult::cooldown:
            return "cooldown";
        case IntakeResult::coalesced:
            return "coalesced";
        case IntakeResult::queue_full:
            return "queue_full";
        case IntakeResult::stopped:
            return "stopped";
        case IntakeResult::pending:
            return "pending";
        case IntakeResult::silenced:
            return "silenced";
        case IntakeResult::inhibited:
            return "inhibited";
    }
    return "stopped";
}

std::string_view to_string(HandleResult r) noexcept {
    switch (r) {
        case HandleResult::benign:
            return "benign";
        case HandleResult::cooldown:
            return "cooldown";
        case HandleResult::ignored:
            return "ignored";
        case HandleResult::proposed:
            return "proposed";
        case HandleResult::chain_failed:
            return "chain_failed";
        case HandleResult::write_failed:
            return "write_failed";
        case HandleResult::abandoned:
            return "abandoned";
        case HandleResult::pending:
            return "pending";
        case HandleResult::silenced:
            return "silenced";
        case HandleResult::inhibited:
            return "inhibited";
    }
    return "abandoned";
}

std::uint64_t PlannerCounters::received_total() const {
    std::uint64_t total = 0;
    for (const auto& [channel, n] : received) total += n;
    return total;
}

namespace {

/// `{model: {status: n}}`: the attempts, without the histograms, for the exit summary.
nlohmann::json attempts_by_model(const std::map<std::string, ModelCounters>& models) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [model, c] : models) out[model] = c.attempts;
    return out;
}

}  // namespace

nlohmann::json PlannerCounters::to_json() const {
    return {{"received", received},
            {"received_total", received_total()},
            {"skipped",
             {{"malformed", malformed},
              {"benign", benign},
              {"cooldown", cooldown},
              {"coalesced", coalesced},
              {"pending", pending},
              {"silenced", silenced},
              {"inhibited", inhibited},
              {"queue_full", queue_full},
              {"stopping", stopping}}},
            {"routed", routed},
            {"proposals", proposals},
            {"chain_failures", chain_failures},
            {"write_failures", write_failures},
            {"emit_failures", emit_failures},
            {"abandoned", abandoned},
            {"budget_forced_human", budget_forced_human},
            {"escalated", {{"proposal", escalated}, {"pending", escalated_pending}}},
            {"model_attempts", attempts_by_model(models)}};
}

namespace detail {

void CounterBoard::add(std::uint64_t PlannerCounters::*field, std::uint64_t n) {
    std::lock_guard lock(mutex_);
    counters_.*field += n;
}

void CounterBoard::received(std::string_view channel) {
    std::lock_guard lock(mutex_);
    auto it = counters_.received.find(std::string(channel));
    if (it == counters_.received.end()) {
        const bool room = counters_.received.size() < kMaxCountedChannels;
        it = counters_.received.try_emplace(room ? std::string(channel) : std::string(kOtherLabel))
                 .first;
    }
    ++it->second;
}

void CounterBoard::proposal(const std::string& action) {
    std::lock_guard lock(mutex_);
    ++counters_.proposals[action];
}

std::string model_label(std::string_view model) {
    std::string label = redact_url(model);
    // redact_url keeps a user name ("u:***@"); a label keeps no user info at all, nor a query
    // or fragment, where a careless base URL might carry a token.
    if (const auto parts = split_url(label)) {
        std::string bare(parts->scheme);
        bare.append("://").append(parts->host_port).append(parts->path);
        label = std::move(bare);
    }
    return printable(label, 200);
}

void CounterBoard::attempts(const std::vector<AttemptRecord>& attempts) {
    struct Timed {
        std::string model;
        std::string_view status;
        double seconds;
        bool timed;
    };
    // Labels are built outside the lock.
    std::vector<Timed> rows;
    rows.reserve(attempts.size());
    for (const auto& a : attempts) {
        rows.push_back({model_label(a.model), to_string(a.status), a.latency_ms / 1000.0,
                        a.status != AttemptStatus::skipped});
    }
    std::lock_guard lock(mutex_);
    for (const auto& r : rows) {
        auto it = counters_.models.find(r.model);
        if (it == counters_.models.end()) {
            const bool room = counters_.models.size() < kMaxCountedModels;
            it = counters_.models.try_emplace(room ? r.model : std::string(kOtherLabel)).first;
        }
        auto& m = it->second;
        ++m.attempts[std::string(r.status)];
        if (!r.timed) continue;
        const auto bucket = static_cast<std::size_t>(
            std::lower_bound(kModelLatencyBuckets.begin(), kModelLatencyBuckets.end(), r.seconds) -
            kModelLatencyBuckets.begin());
        ++m.latency_buckets[bucket];
        m.latency_seconds_sum += std::max(r.seconds, 0.0);
        ++m.latency_count;
    }
}

PlannerCounters CounterBoard::snapshot() const {
    std::lock_guard lock(mutex_);
    return counters_;
}

}  // namespace detail

}  // namespace planner
