#pragma once

/// \file
/// The planner pipeline: intake, a bounded queue, workers that ask the router, and the sinks.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "planner/action_file.hpp"
#include "planner/clock.hpp"
#include "planner/cooldown.hpp"
#include "planner/escalation.hpp"
#include "planner/health_event.hpp"
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
};

/// What an agent works with, by name: `PlannerAgent agent(options, {.router = r, .actions = a,
/// .events = e, .log = l})`. Nothing here is owned; everything must outlive the agent.
struct PlannerAgentParts {
    LLMRouter& router;
    /// Where proposals go (an ActionStore, a NotifyingActionSink over one, a test's recorder).
    ActionSink& actions;
    /// Where `remediation_started` goes.
    EventSink& events;
    LogSink& log;
    /// Injected in tests (testing::ManualClock); cooldowns and windows use `steady`.
    SteadyTimeSource steady = std::chrono::steady_clock::now;
    WallTimeSource wall = std::chrono::system_clock::now;
    /// The proposals still waiting for a person (the ActionStore over the directory `actions`
    /// writes): while one waits for a node/service, its new events are skipped as `pending`
    /// and counted on it. Its pending proposals also keep their incidents open. Null: none.
    PendingProposals* pending = nullptr;
    /// Maintenance windows (a SilenceStore): covered events are skipped as `silenced`, before
    /// any other check. Null: none.
    Silences* silences = nullptr;
    /// Replicas on one bus (Redis Streams): a node/service another planner is planning or has
    /// planned within the cooldown is skipped as `cooldown`. Null: this planner alone.
    SharedReservations* shared_reservations = nullptr;
    /// The action files found at start (ActionStore::take_startup_scan()): they seed the budget
    /// (`rules.budget`) and the escalation history (`rules.escalate`), so a restart forgets
    /// neither what ran without a human nor a flapping service. Read by the constructor only.
    const std::vector<ActionFile>* history = nullptr;
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

/// What the agent took from PlannerAgentParts::history, for the start-up log line.
struct HistorySeeded {
    std::size_t budget = 0;      ///< automatic proposals still inside `rules.budget.window`
    std::size_t escalation = 0;  ///< proposals inside `rules.escalate.window`
};

/// What stop() achieved.
struct StopReport {
    bool drained = true;  ///< every queued and in-flight event finished in time
    std::size_t abandoned_queued = 0;
    std::size_t still_in_flight = 0;  ///< router calls still running; their results are dropped
};

namespace testing {
struct AgentAccess;
}  // namespace testing

/// Turns health events into proposals. Thread-safe: dispatch from any thread, workers plan.
///
/// Two ways in: dispatch_text() for a message's raw text as the bus delivers it, submit() for
/// an event already parsed. Each is screened once at intake (benign, silenced, inhibited,
/// cooldown, coalesced, pending), and what passes is queued for a worker: route, house rules,
/// write the action, emit `remediation_started`, record the cooldown.
class PlannerAgent {
  public:
    /// Seeds the budget and the escalation history from `parts.history`.
    PlannerAgent(PlannerAgentOptions options, PlannerAgentParts parts);
    /// Stops (with the grace period) if still running, then joins the workers.
    ~PlannerAgent();
    PlannerAgent(const PlannerAgent&) = delete;
    PlannerAgent& operator=(const PlannerAgent&) = delete;

    /// Starts the worker threads; without it queued events wait.
    void start();

    /// A message's raw text, as Redis delivers it: a JSON object in either wire shape. `done`,
    /// when given, is called exactly once when the message is finished: on this thread before
    /// returning when it was not queued, else by the worker after planning (or by stop() for
    /// queued work it abandons). `done` must be quick, must not throw and must not call back
    /// into the agent: an acknowledging intake records the outcome and returns.
    IntakeResult dispatch_text(std::string_view channel, std::string_view data,
                               DispatchDone done = {});
    /// An already parsed event (a replay in event time, an embedder's own intake): the same
    /// screening and queue as dispatch_text, counted as received on `event.raw_channel`.
    IntakeResult submit(HealthEvent event, DispatchDone done = {});
    /// Not a way in: a message an intake could not hand over as text (a recorded message whose
    /// `data` is not a string) is counted as received and malformed, and logged as
    /// `skip_malformed` with `reason` like intake's own refusals, so the exit summary and the
    /// metrics count every message. Returns `malformed`.
    IntakeResult refuse(std::string_view channel, std::string reason);

    /// Blocks until nothing is queued, in flight or waiting to be recorded, or `timeout`
    /// passes; true when idle.
    bool wait_idle(std::chrono::milliseconds timeout);

    /// Stops intake, lets the queue drain for the grace period, abandons what is left. Joins the
    /// workers when they finished; a router call that is still running is joined by the
    /// destructor. Idempotent.
    StopReport stop();

    PlannerCounters counters() const;
    CooldownTracker& cooldown() noexcept;
    /// The automatic proposals of the last window (`rules.budget`).
    RemediationBudget& budget() noexcept;
    /// The earlier proposals per node/service (`rules.escalate`).
    EscalationHistory& escalation() noexcept;
    /// What the constructor took from `parts.history` (for the start-up log line).
    HistorySeeded seeded() const noexcept;
    const PlannerAgentOptions& options() const noexcept;
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
    /// testing::handle_event: the seed's `_handle_event`, the pipeline run synchronously.
    friend struct testing::AgentAccess;
    HandleResult handle_event(const HealthEvent& event);

    class Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace planner
