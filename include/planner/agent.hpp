#pragma once

/// \file
/// The planner pipeline: intake, a bounded queue, workers that ask the router, and the sinks.

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "planner/clock.hpp"
#include "planner/cooldown.hpp"
#include "planner/escalation.hpp"
#include "planner/health_event.hpp"
#include "planner/incidents.hpp"
#include "planner/log.hpp"
#include "planner/messages.hpp"
#include "planner/pending_proposals.hpp"
#include "planner/policy.hpp"
#include "planner/remediation_budget.hpp"
#include "planner/router.hpp"
#include "planner/shared_reservations.hpp"
#include "planner/silences.hpp"
#include "planner/sinks.hpp"

namespace planner {

/// Plain data with working defaults.
struct PlannerAgentOptions {
    /// One proposal per svc_key per period.
    std::chrono::milliseconds cooldown{std::chrono::seconds{300}};
    /// Concurrent router calls; 1 because a home GPU serves one request at a time.
    std::size_t workers = 1;
    /// Events waiting for a worker; beyond it new keys are dropped, so memory stays bounded.
    std::size_t queue_capacity = 1024;
    /// Block the caller instead of dropping when the queue is full: for replaying a file, where
    /// the producer can wait, never for Redis intake.
    bool wait_when_full = false;
    /// How long stop() lets queued and in-flight work finish before abandoning it.
    std::chrono::milliseconds stop_grace{std::chrono::seconds{30}};
    /// The house rules: enforced on every answer, and the same data tells the model about them.
    HouseRules rules{};
    /// Topology and payload cap: what the prompt says besides the rules and the event.
    PromptOptions prompt{};
    EventLimits limits{};
    /// Larger messages are rejected before parsing.
    std::size_t max_message_bytes = 1024 * 1024;
    /// A proposal nobody decided on within this becomes `expired` (written as `expires_at`);
    /// zero writes no `expires_at`.
    std::chrono::seconds proposal_ttl{std::chrono::hours{24}};
    /// Replicas on one bus (Redis Streams): a node/service another planner is planning or has
    /// planned within the cooldown is skipped as `cooldown`. Not owned; null: this planner alone.
    SharedReservations* shared_reservations = nullptr;
};

/// What intake did with one message or event.
/// `pending`: a proposal for the same node/service still waits for a decision.
/// `silenced`: a person silenced the node/service (a maintenance window).
/// `inhibited`: something it depends on (or its node) has an open incident: a symptom.
enum class IntakeResult {
    queued,
    malformed,
    benign,
    cooldown,
    coalesced,
    queue_full,
    stopped,
    pending,
    silenced,
    inhibited
};

/// How handle_event ended.
enum class HandleResult {
    benign,
    cooldown,
    ignored,
    proposed,
    chain_failed,
    write_failed,
    abandoned,
    pending,
    silenced,
    inhibited
};

std::string_view to_string(IntakeResult r) noexcept;
std::string_view to_string(HandleResult r) noexcept;

/// Upper bounds, in seconds, of the model latency histogram's buckets
/// (`planner_model_request_duration_seconds`): from a warm small model on a GPU (50 ms) to a
/// cold large one on a CPU, which the default 60 s attempt timeout may cut short (120 s).
inline constexpr std::array<double, 14> kModelLatencyBuckets = {
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0};

/// The attempts at one model since start, from the attempts every route reports (whichever
/// LLMRouter gave them), so a dead GPU box or a revoked key shows before the chain fails.
struct ModelCounters {
    /// By `to_string(AttemptStatus)`: success, error, timeout, invalid, skipped, truncated,
    /// prompt_truncated.
    std::map<std::string, std::uint64_t> attempts;
    /// Attempts per latency bucket, not cumulative: index i counts latencies up to
    /// kModelLatencyBuckets[i] (and above the previous bound), the last index those above every
    /// bound. Skipped attempts asked nothing and are not timed.
    std::array<std::uint64_t, kModelLatencyBuckets.size() + 1> latency_buckets{};
    double latency_seconds_sum = 0.0;
    std::uint64_t latency_count = 0;  ///< timed attempts, the buckets' total
};

/// How one dispatched message ended, for an intake that acknowledges what it delivers (Redis
/// Streams): an acknowledged message is never delivered again, so only a settled one may be.
struct DispatchOutcome {
    IntakeResult intake = IntakeResult::queued;
    /// How planning ended; set only when `intake` is `queued`.
    std::optional<HandleResult> handled;

    /// True when a second delivery could change nothing: the message was skipped (malformed,
    /// benign, cooldown, pending, or coalesced behind the same key, whose own message settles
    /// it), its files are durable, it was ignored, or the chain failed and that was logged.
    /// False for queue_full, stopped, write_failed and abandoned: deliver it again.
    bool settled() const noexcept;
};

/// Told once when the agent is done with a dispatched message; see dispatch_text.
using DispatchDone = std::function<void(const DispatchOutcome&)>;

/// Counters since start, for the exit summary, metrics and tests.
struct PlannerCounters {
    std::map<std::string, std::uint64_t> received;  ///< messages per channel
    std::uint64_t malformed = 0;
    std::uint64_t benign = 0;
    std::uint64_t cooldown = 0;
    std::uint64_t coalesced = 0;
    std::uint64_t pending = 0;    ///< a proposal for the key still waits for a decision
    std::uint64_t silenced = 0;   ///< a silence (maintenance window) covered the key
    std::uint64_t inhibited = 0;  ///< a dependency or the node had an open incident
    std::uint64_t queue_full = 0;
    std::uint64_t stopping = 0;                      ///< arrived after stop() began
    std::uint64_t routed = 0;                        ///< router calls, failed ones included
    std::map<std::string, std::uint64_t> proposals;  ///< by action, ignore included
    std::uint64_t chain_failures = 0;
    std::uint64_t write_failures = 0;
    std::uint64_t emit_failures = 0;  ///< action file written, event not
    std::uint64_t abandoned = 0;      ///< dropped by stop() after the grace period
    /// requires_human forced because `rules.budget` was used up (RemediationBudget)
    std::uint64_t budget_forced_human = 0;
    /// New proposals escalated by `rules.escalate` (flapping, or the previous one failed)
    std::uint64_t escalated = 0;
    /// Pending proposals marked escalated and notified again (seen `after` times)
    std::uint64_t escalated_pending = 0;
    /// By model name fit for a metric label: redact_url's masking, then no user info, query or
    /// fragment at all; past a bound, further names share one entry "(other)".
    std::map<std::string, ModelCounters> models;

    std::uint64_t received_total() const;
    nlohmann::json to_json() const;
};

/// What stop() achieved.
struct StopReport {
    bool drained = true;  ///< every queued and in-flight event finished in time
    std::size_t abandoned_queued = 0;
    std::size_t still_in_flight = 0;  ///< router calls still running; their results are dropped
};

namespace detail {
class CounterBoard;
class PlanStep;
struct FollowUpQueue;
struct Screening;
}  // namespace detail

/// Turns health events into proposals. Thread-safe: dispatch from any thread, workers plan.
/// Collaborators are injected and must outlive the agent.
class PlannerAgent {
  public:
    /// `pending` (optional, e.g. the ActionStore over the actions directory the sink writes):
    /// while it knows a pending proposal for a node/service, new events for it are skipped as
    /// `pending` and counted on that proposal instead of proposing again.
    /// `silences` (optional, e.g. a SilenceStore over the state directory): events whose
    /// node/service a silence covers are skipped as `silenced`, before any other check.
    /// Then events whose dependencies (prompt.topology, transitively) or node have an open
    /// incident (rules.inhibit_window, or a pending proposal) are skipped as `inhibited`.
    PlannerAgent(PlannerAgentOptions options, LLMRouter& router, ActionSink& actions,
                 EventSink& events, LogSink& log,
                 SteadyTimeSource steady = std::chrono::steady_clock::now,
                 WallTimeSource wall = std::chrono::system_clock::now,
                 PendingProposals* pending = nullptr, Silences* silences = nullptr);
    /// Stops (with the grace period) if still running, then joins the workers.
    ~PlannerAgent();
    PlannerAgent(const PlannerAgent&) = delete;
    PlannerAgent& operator=(const PlannerAgent&) = delete;

    /// Starts the worker threads; without it queued events wait (handle_event still works).
    void start();

    /// A pub/sub message: `data` must be a JSON string holding an event object.
    IntakeResult dispatch(std::string_view channel, const nlohmann::json& data);
    /// A pub/sub message's raw text, as Redis delivers it.
    IntakeResult dispatch_text(std::string_view channel, std::string_view data);
    /// The same, and `done` is called exactly once when the message is finished: on this
    /// thread before returning when it was not queued, else by the worker after planning (or by
    /// stop() for queued work it abandons). `done` must be quick, must not throw and must not
    /// call back into the agent: an acknowledging intake records the outcome and returns.
    IntakeResult dispatch_text(std::string_view channel, std::string_view data, DispatchDone done);
    /// An already parsed event: benign and cooldown checks, coalescing, then the queue.
    IntakeResult submit(HealthEvent event);

    /// The original pipeline, synchronously on this thread: benign → skip; silenced → skip;
    /// cooldown → skip;
    /// a pending proposal for the key → skip;
    /// route → house rules → ignore records the cooldown, anything else writes the action,
    /// emits `remediation_started`, then records the cooldown. Never throws. Queued events take
    /// the same path, screened once at intake.
    HandleResult handle_event(const HealthEvent& event);

    /// Blocks until nothing is queued or in flight, or `timeout` passes; true when idle.
    bool wait_idle(std::chrono::milliseconds timeout);

    /// Stops intake, lets the queue drain for the grace period, abandons what is left. Joins the
    /// workers when they finished; a router call that is still running is joined by the
    /// destructor. Idempotent.
    StopReport stop();

    PlannerCounters counters() const;
    CooldownTracker& cooldown() noexcept { return cooldown_; }
    /// The automatic proposals of the last window (`rules.budget`); seed it at start from the
    /// action files so a restart does not reset it.
    RemediationBudget& budget() noexcept { return budget_; }
    /// The earlier proposals per node/service (`rules.escalate`); seed it at start from the
    /// action files so a restart does not forget a flapping service or a failed fix.
    EscalationHistory& escalation() noexcept { return escalation_; }
    const PlannerAgentOptions& options() const noexcept { return options_; }
    /// `build_system_prompt(rules, prompt)` for the current rules (options() until the first
    /// reconfigure()), built once per configuration.
    std::string system_prompt() const;
    /// Swaps the house rules and the prompt's topology (a configuration reload). Events already
    /// being planned finish with the old ones; queue, cooldowns and counters are untouched.
    /// options() keeps the construction-time values.
    void reconfigure(HouseRules rules, PromptOptions prompt);
    /// Age of the oldest event a worker is planning, zero when idle: a health signal.
    std::chrono::steady_clock::duration oldest_in_flight_age() const;
    /// Events waiting for a worker now (a gauge for metrics; at most queue_capacity).
    std::size_t queue_depth() const;
    /// Events a worker is planning now (a gauge for metrics; at most workers).
    std::size_t in_flight() const;

  private:
    struct InFlight {
        std::string key;
        std::chrono::steady_clock::time_point since;
    };

    struct Queued {
        HealthEvent event;
        DispatchDone done;  ///< may be empty
    };

    /// `done` is moved into the queue only when the result is `queued`.
    IntakeResult intake_text(std::string_view channel, std::string_view data,
                             DispatchDone* done = nullptr);
    /// The queue, for an event whose key screen() reserved; gives the key back if refused.
    IntakeResult enqueue(HealthEvent event, DispatchDone* done = nullptr);
    /// The one benign/silenced/inhibited/cooldown/coalescing/pending decision: counts and logs
    /// a skipped event; no verdict for one that must be planned, whose key is then reserved
    /// (pending) when `reserve`. Writes no file and tells no one: what must be recorded on a
    /// proposal comes back as follow-ups, for the caller to hand over (defer) or run.
    detail::Screening screen(std::string_view event_type, std::string_view node,
                             std::string_view service, bool reserve = true);
    /// Intake's side of a screening: queues its follow-ups for the follow-up thread (started
    /// with the first if start() was not called) and returns its verdict.
    std::optional<IntakeResult> defer(detail::Screening screening);
    /// The follow-up thread: runs what intake decided (PlanStep::follow_up), one at a time.
    void follow_up_loop();
    /// Nothing queued, planning or waiting to be recorded. Under mutex_.
    bool idle_locked() const;
    /// Gives back a key screen() reserved for an event that will not be queued after all.
    void release(const std::string& key);
    IntakeResult reject(std::string_view channel, std::string reason, std::size_t bytes);
    void worker_loop();
    /// options_.shared_reservations: reserve a key that passed the local checks; after a plan,
    /// start the shared cooldown or give the key back.
    bool reserve_with_replicas(const std::string& key);
    void tell_replicas(const std::string& key, HandleResult handled);
    void count(std::uint64_t PlannerCounters::*field);
    /// The root cause that inhibits `key`, if any: an open incident or a pending proposal of
    /// something it depends on. Records `key`'s own incident when it is not inhibited.
    std::optional<std::string> inhibited_by(const std::string& key, std::string_view event_type);

    PlannerAgentOptions options_;
    LogSink& log_;
    SteadyTimeSource steady_;
    WallTimeSource wall_;
    PendingProposals* pending_;
    Silences* silences_;
    CooldownTracker cooldown_;
    RemediationBudget budget_;
    EscalationHistory escalation_;
    ActionSink& actions_;
    IncidentTracker incidents_;
    std::unique_ptr<detail::CounterBoard> counters_;
    std::unique_ptr<detail::PlanStep> plan_;
    std::unique_ptr<detail::FollowUpQueue> follow_ups_;  ///< under mutex_
    std::atomic<bool> abandoned_{false};

    mutable std::mutex mutex_;
    std::condition_variable work_ready_;
    std::condition_variable space_ready_;
    std::condition_variable idle_;
    std::deque<Queued> queue_;
    std::unordered_set<std::string> pending_keys_;  ///< queued or in flight
    std::vector<InFlight> in_flight_;
    bool accepting_ = true;
    bool exit_ = false;
    bool stopped_ = false;
    std::vector<std::thread> workers_;
    std::condition_variable follow_up_ready_;
    bool follow_up_exit_ = false;  ///< set by stop() once the follow-ups drained or were given up
    std::thread follow_up_thread_;
};

}  // namespace planner
