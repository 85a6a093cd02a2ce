#pragma once

// The agent's internals shared between its source files; not installed.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "planner/agent.hpp"
#include "planner/incidents.hpp"

namespace planner::detail {

/// Counters behind one lock, so a snapshot is consistent and intake and workers can share it.
class CounterBoard {
  public:
    void add(std::uint64_t PlannerCounters::*field, std::uint64_t n = 1);
    /// Channel names come from the bus: past a bound they share one counter.
    void received(std::string_view channel);
    void proposal(const std::string& action);
    /// One route's attempts, by model: status counts and the latency histogram.
    void attempts(const std::vector<AttemptRecord>& attempts);
    PlannerCounters snapshot() const;

  private:
    mutable std::mutex mutex_;
    PlannerCounters counters_;
};

/// `model` (an attempt's model name, as any LLMRouter wrote it) fit for a metric label:
/// redact_url's masking, then no user info, query or fragment at all, printable and bounded.
std::string model_label(std::string_view model);

/// The earlier proposals for `key` the escalation decision reads (EscalationHistory::earlier),
/// with their outcomes from the action files `store` knows (unknown without a store).
std::vector<PastProposal> past_proposals(const EscalationHistory& history, PendingProposals* store,
                                         const std::string& key, std::chrono::seconds window,
                                         std::string_view except = {});

/// What a screening asks to be recorded once it has decided: plain data, run later by whoever
/// owns the thread (the agent's follow-up thread for intake, handle_event's caller inline).
struct FollowUp {
    enum class Kind : std::uint8_t {
        /// Count another event on the pending proposal `target` (an action id), and escalate
        /// it when decide_pending_escalation says so.
        occurrence,
        /// List `key` as affected on the pending proposal of the root cause `target` (a
        /// node/service), if it has one by then.
        affected,
    };
    Kind kind = Kind::occurrence;
    std::string key;                               ///< the screened event's node/service
    std::string target;                            ///< see Kind
    std::chrono::system_clock::time_point when{};  ///< occurrence: when the event was seen
};

/// screen()'s answer: the verdict (nullopt: plan it) and what to record afterwards.
struct Screening {
    std::optional<IntakeResult> verdict;
    std::vector<FollowUp> follow_ups;
};

/// The follow-ups intake handed over, waiting for the agent's follow-up thread. Guarded by the
/// agent's queue lock, so that wait_idle() and stop() see them with the plans.
struct FollowUpQueue {
    /// Each is one file rewrite; past this many waiting, a flood would only grow memory.
    static constexpr std::size_t kCapacity = 4096;
    std::deque<FollowUp> waiting;
    bool busy = false;          ///< one is running now
    std::uint64_t dropped = 0;  ///< refused because the queue was full, or after stop()
};

/// The plan step, free of threads and queues: route, apply the house rules, write the action,
/// tell the pending index, emit `remediation_started`, record the cooldown. The event has already
/// been screened (benign, cooldown) by its one caller. Safe to run for different keys on several
/// threads.
class PlanStep {
  public:
    PlanStep(const PlannerAgentOptions& options, LLMRouter& router, ActionSink& actions,
             EventSink& events, LogSink& log, CooldownTracker& cooldown, CounterBoard& counters,
             WallTimeSource wall, PendingProposals* pending = nullptr,
             RemediationBudget* budget = nullptr, EscalationHistory* escalation = nullptr,
             SharedReservations* shared = nullptr);

    /// Never throws. `abandoned` is read just before writing: a proposal that outlived stop()'s
    /// grace period is dropped rather than written after the planner said it was done.
    HandleResult run(const HealthEvent& event, const std::atomic<bool>& abandoned);

    /// What the model is told and what is enforced, swapped as one by reconfigure(). An event
    /// takes a snapshot when its planning starts and keeps it to the end.
    struct Guidance {
        HouseRules rules;
        PromptOptions prompt;
        std::string system_prompt;  ///< build_system_prompt(rules, prompt), built once
    };
    std::shared_ptr<const Guidance> guidance() const;
    void reconfigure(HouseRules rules, PromptOptions prompt);
    /// The agent's open incidents: a proposal lists the symptoms its incident inhibited.
    void set_incidents(const IncidentTracker* incidents) { incidents_ = incidents; }

    /// Records what a screening decided (the pending store's file rewrites, the escalation of a
    /// pending proposal and its notification). Never throws.
    void follow_up(const FollowUp& f) noexcept;

  private:
    HandleResult plan(const HealthEvent& event, const std::atomic<bool>& abandoned);
    /// `rules.budget` on a proposal that would run without a human: takes a unit, or forces
    /// requires_human with a correction. True when a unit was taken (give it back if the
    /// proposal is not written).
    bool apply_budget(ActionProposal& p, const RemediationBudgetLimits& limits,
                      const std::string& key);
    /// `rules.escalate` on a proposal that is not `ignore`: lowers its action to one that
    /// already failed, forces requires_human, marks it escalated with its history.
    EscalationDecision apply_escalation(ActionProposal& p, const EscalationRules& rules,
                                        const std::string& key);
    /// `rules.escalate` for a pending proposal seen again: decide_pending_escalation on what
    /// note_occurrence counted, then mark it escalated and tell the ActionSink (people) again.
    void escalate_pending(const std::string& key, const std::string& action_id,
                          const PendingOccurrence& seen);
    /// A plan ended in a decision that holds for a while (a proposal written, or `ignore`):
    /// this planner's cooldown for `key`, and the replicas' shared one. The one place either
    /// is started after planning.
    void start_cooldown(const std::string& key);
    /// `plan-<node>-<service>-<epoch s>-<next sequence of this process>`.
    std::string next_action_id(const HealthEvent& event,
                               std::chrono::system_clock::time_point created_at);
    /// actions_.write(p); while the sink says the id is taken (ActionIdTaken), at most
    /// kActionIdTries times in all, takes the next id for `p` and `summary`, logs
    /// `action_id_taken` and writes again. Throws what the last write threw.
    std::string write_new(const HealthEvent& event, ActionProposal& p, nlohmann::json& summary);

    /// Bounds write_new: a directory holding this many proposals for one service in one second
    /// is not a restart's leftovers.
    static constexpr int kActionIdTries = 1000;

    const PlannerAgentOptions& options_;
    mutable std::mutex guidance_mutex_;
    std::shared_ptr<const Guidance> guidance_;
    LLMRouter& router_;
    ActionSink& actions_;
    EventSink& events_;
    LogSink& log_;
    CooldownTracker& cooldown_;
    CounterBoard& counters_;
    WallTimeSource wall_;
    PendingProposals* pending_;
    RemediationBudget* budget_;
    EscalationHistory* escalation_;
    SharedReservations* shared_;
    const IncidentTracker* incidents_ = nullptr;
    std::atomic<std::uint64_t> sequence_{0};
};

}  // namespace planner::detail
