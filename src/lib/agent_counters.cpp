#include "agent_detail.hpp"

namespace planner {

namespace {

/// Channel names come from the bus; past this many, they share one counter.
constexpr std::size_t kMaxCountedChannels = 64;
constexpr std::string_view kOtherChannels = "(other)";

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
    }
    return "abandoned";
}

std::uint64_t PlannerCounters::received_total() const {
    std::uint64_t total = 0;
    for (const auto& [channel, n] : received) total += n;
    return total;
}

nlohmann::json PlannerCounters::to_json() const {
    return {{"received", received},
            {"received_total", received_total()},
            {"skipped",
             {{"malformed", malformed},
              {"benign", benign},
              {"cooldown", cooldown},
              {"coalesced", coalesced},
              {"pending", pending},
              {"queue_full", queue_full},
              {"stopping", stopping}}},
            {"routed", routed},
            {"proposals", proposals},
            {"chain_failures", chain_failures},
            {"write_failures", write_failures},
            {"emit_failures", emit_failures},
            {"abandoned", abandoned}};
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
        it = counters_.received
                 .try_emplace(room ? std::string(channel) : std::string(kOtherChannels))
                 .first;
    }
    ++it->second;
}

void CounterBoard::proposal(const std::string& action) {
    std::lock_guard lock(mutex_);
    ++counters_.proposals[action];
}

PlannerCounters CounterBoard::snapshot() const {
    std::lock_guard lock(mutex_);
    return counters_;
}

}  // namespace detail

}  // namespace planner
