#pragma once
/// \file
/// The planner as one object: what planner-run, the eval and the benchmarks assembled by hand
/// (sinks, store, silences, reservations, notifier, agent, expiry sweeper, the start-up
/// seeding), built once from typed options, started, reloaded and stopped in the right order.
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "planner/agent.hpp"
#include "planner/clock.hpp"
#include "planner/log_sink.hpp"
#include "planner/notifier.hpp"
#include "planner/policy.hpp"
#include "planner/redis_url.hpp"
#include "planner/router.hpp"
#include "planner/sinks.hpp"
#include "planner/topology.hpp"

namespace planner {

class ActionStore;
class ExpirySweeper;
class HttpTransport;
class RedisReservations;
class RedisSilences;
class SilenceStore;
class SwappableRouter;

/// Replicas on one Redis Streams group: they share reservations (one plan per node/service and
/// cooldown between them) and silences through Redis (docs/scaling.md, docs/safety.md).
struct PlannerReplicaSharing {
    RedisUrl url{};
    /// The consumer group; keys are `planner:<group>:plan:` and `planner:<group>:silence:`.
    std::string group = "planner";
    /// This replica's name, unique in the group: only the holder releases a reservation.
    std::string owner = "planner";
    /// How long a reservation holds while its plan runs; keep it below the intake's claim_idle,
    /// so an entry claimed from a replica that died mid-plan finds its key free.
    std::chrono::milliseconds planning_hold{std::chrono::seconds{30}};
};

/// Plain data with working defaults: every setting already parsed and checked (no strings to
/// re-parse), so an embedder fills it from its own configuration.
struct PlannerServiceOptions {
    /// Where proposals are written (one file each) and what the approval workflow reads.
    std::filesystem::path actions_dir{"actions"};
    /// Where `remediation_started` events are written.
    std::filesystem::path events_dir{"events"};
    /// The audit log and the silences file.
    std::filesystem::path state_dir{"state"};
    /// Set: a dry run, proposals are printed to this stream and nothing is written to disk (no
    /// store, no notifier, no sweeper). Not owned.
    std::FILE* dry_run = nullptr;
    /// Written into each event file; reload() may change it.
    std::string node = "planner";
    /// The agent's settings, as the agent takes them: cooldown, workers, queue, grace period,
    /// house rules, the topology (`prompt.topology`) and the proposal TTL, which the store's
    /// expiry uses too. `wait_when_full`: a file replay can wait, Redis cannot. reload()
    /// replaces the rules, the topology and the cooldown.
    PlannerAgentOptions agent{};
    /// The model chain, built by the caller (it reads the key files); wrapped so reload() can
    /// swap it while a request on the old one finishes. Required.
    std::shared_ptr<LLMRouter> chain;
    /// Where proposals are announced (secrets already read); empty: no notifier.
    std::vector<NotifyTarget> notify;
    /// How the notifier talks HTTP; null: libcurl. Tests inject a fake.
    std::shared_ptr<HttpTransport> notify_transport;
    /// Absent: this planner alone.
    std::optional<PlannerReplicaSharing> sharing;
    /// Time sources of every time-dependent part: `--clock event` and the eval pass an
    /// EventClock's, so a recorded day replays with its own cooldowns, budgets and expiry.
    WallTimeSource wall = std::chrono::system_clock::now;
    SteadyTimeSource steady = std::chrono::steady_clock::now;
    /// Run the expiry sweeper's thread (every minute of real time). The eval turns it off: an
    /// incident replays in event time, where the real-time interval means nothing.
    bool sweep_in_background = true;
    /// fsync what is written. Only the eval and the benchmarks turn it off.
    bool fsync = true;
    /// How often the silences file is looked at; the eval uses zero (every event).
    std::chrono::milliseconds silence_recheck{std::chrono::seconds{1}};
    /// Wraps the action sink (before the notifier), for an embedder that must see each proposal
    /// as it is written: the eval's recorder, a benchmark's clock. Empty: none.
    std::function<std::unique_ptr<ActionSink>(ActionSink& inner)> wrap_actions;
};

/// What a configuration reload may change while the planner runs; everything else needs a
/// restart.
struct PlannerServiceReload {
    HouseRules rules{};
    Topology topology{};
    std::chrono::milliseconds cooldown{std::chrono::seconds{300}};
    std::string node = "planner";
    /// The new chain, already built (so a failure to build it applied nothing). Required.
    std::shared_ptr<LLMRouter> chain;
};

/// The planner's parts, owned in dependency order. Construction builds and seeds them (throws a
/// one-line std::exception for an unusable directory or setting); start() starts the threads;
/// stop() stops them in the order that delivers what was planned last. Not copyable.
class PlannerService {
  public:
    /// `log` must outlive the service.
    PlannerService(PlannerServiceOptions options, LogSink& log);
    /// Stops if still running.
    ~PlannerService();
    PlannerService(const PlannerService&) = delete;
    PlannerService& operator=(const PlannerService&) = delete;

    /// Starts the notifier, the agent's workers and the expiry sweeper, in that order.
    void start();
    /// Stops the sweeper, the agent (with its grace period), then the notifier, so what the
    /// agent stored last is still delivered. `after_agent` runs between the agent and the
    /// notifier: an acknowledging intake acknowledges what the agent finished. Idempotent.
    StopReport stop(const std::function<void()>& after_agent = {});
    /// One expiry sweep now (event-time replays, where the sweeper's interval never comes
    /// round); zero in a dry run.
    std::size_t sweep_once();
    /// Swaps the rules, topology, cooldown, node name and chain between events; queue, cooldowns
    /// and counters are untouched, events being planned finish with the old ones.
    void reload(PlannerServiceReload next);

    /// Intake dispatches to it; metrics and health read it.
    PlannerAgent& agent() noexcept { return *agent_; }
    /// The approval workflow's view of the actions directory; null in a dry run.
    ActionStore* store() noexcept { return store_.get(); }
    /// Null without notify targets or in a dry run.
    Notifier* notifier() noexcept { return notifier_.get(); }
    /// The maintenance windows of the state directory (the file copy even with sharing).
    SilenceStore& silences() noexcept { return *silences_; }
    /// How many action files seeded the budget and the escalation history at start (the
    /// `planner_started` line reports them).
    std::size_t budget_seeded() const noexcept { return budget_seeded_; }
    std::size_t escalation_seeded() const noexcept { return escalation_seeded_; }

  private:
    class NodeName;

    PlannerServiceOptions options_;
    LogSink& log_;
    std::unique_ptr<NodeName> node_;
    std::unique_ptr<SwappableRouter> router_;
    std::unique_ptr<ActionSink> actions_;
    std::unique_ptr<EventSink> events_;
    std::unique_ptr<ActionStore> store_;
    std::unique_ptr<ActionSink> wrapped_;
    std::unique_ptr<Notifier> notifier_;
    std::unique_ptr<ActionSink> notifying_;
    std::unique_ptr<RedisReservations> reservations_;
    std::unique_ptr<SilenceStore> silences_;
    std::unique_ptr<RedisSilences> shared_silences_;
    std::unique_ptr<PlannerAgent> agent_;
    std::unique_ptr<ExpirySweeper> sweeper_;
    std::size_t budget_seeded_ = 0;
    std::size_t escalation_seeded_ = 0;
    bool started_ = false;
    bool stopped_ = false;
};

}  // namespace planner
