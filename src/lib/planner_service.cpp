#include "planner/planner_service.hpp"

#include <mutex>
#include <stdexcept>
#include <utility>

#include "planner/action_store.hpp"
#include "planner/expiry_sweeper.hpp"
#include "planner/file_action_store.hpp"
#include "planner/file_sinks.hpp"
#include "planner/http_transport.hpp"
#include "planner/redis_reservations.hpp"
#include "planner/redis_silences.hpp"
#include "planner/silence_store.hpp"
#include "planner/swappable_router.hpp"
#include "stream_sinks.hpp"

namespace planner {

/// This planner's node name, which a reload may change while the event sink reads it.
class PlannerService::NodeName {
  public:
    explicit NodeName(std::string name) : name_(std::move(name)) {}
    std::string get() const {
        std::lock_guard lock(mutex_);
        return name_;
    }
    void set(std::string name) {
        std::lock_guard lock(mutex_);
        name_ = std::move(name);
    }

  private:
    mutable std::mutex mutex_;
    std::string name_;
};

PlannerService::PlannerService(PlannerServiceOptions options, LogSink& log)
    : options_(std::move(options)), log_(log), node_(std::make_unique<NodeName>(options_.node)) {
    // Swappable, so a reload can replace the chain while a request on the old one finishes.
    router_ = std::make_unique<SwappableRouter>(options_.chain);
    const auto& o = options_;
    if (o.dry_run != nullptr) {
        actions_ = std::make_unique<StreamActionSink>(o.dry_run);
        events_ = std::make_unique<NullEventSink>();
    } else {
        const FileSinkOptions fo{.fsync = o.fsync};
        actions_ = std::make_unique<FileActionSink>(o.actions_dir, fo);
        events_ = std::make_unique<FileEventSink>(
            o.events_dir, [node = node_.get()] { return node->get(); }, o.wall, fo);
        // The approval workflow's view of the same directory: one pending proposal per service
        // (also across restarts) and the expiry sweep. The state directory holds the audit log.
        ActionStoreOptions so;
        so.actions_dir = o.actions_dir;
        so.state_dir = o.state_dir;
        so.proposal_ttl = o.agent.proposal_ttl;
        so.fsync = o.fsync;
        store_ = std::make_unique<FileActionStore>(so, events_.get(), o.wall);
    }
    ActionSink* sink = actions_.get();
    if (o.wrap_actions) {
        wrapped_ = o.wrap_actions(*sink);
        if (!wrapped_) throw std::invalid_argument("PlannerService: wrap_actions returned null");
        sink = wrapped_.get();
    }
    // People hear about stored proposals: the sink writes, then the notifier queues. Not in a
    // dry run, which writes nothing.
    if (!o.notify.empty() && o.dry_run == nullptr) {
        NotifierOptions no;
        no.targets = o.notify;
        notifier_ = std::make_unique<Notifier>(
            std::move(no), o.notify_transport ? o.notify_transport : make_curl_transport(), log_);
        notifying_ = std::make_unique<NotifyingActionSink>(*sink, *notifier_);
        sink = notifying_.get();
    }

    SharedReservations* shared = nullptr;
    // Replicas in one consumer group plan each node/service once per cooldown between them,
    // and a restarted planner finds the cooldowns it recorded (docs/scaling.md).
    if (o.sharing) {
        RedisReservationsOptions ro;
        ro.url = o.sharing->url;
        ro.prefix = "planner:" + o.sharing->group + ":plan:";
        ro.owner = o.sharing->owner;
        ro.planning_hold = o.sharing->planning_hold;
        reservations_ = std::make_unique<RedisReservations>(ro);
        shared = reservations_.get();
    }
    // Maintenance windows planner-ctl writes to the state directory; re-read when it changes.
    // Replicas on a Streams group also share them through Redis (docs/safety.md).
    SilenceStoreOptions sso;
    sso.state_dir = o.state_dir;
    sso.log = &log_;
    sso.recheck_interval = o.silence_recheck;
    sso.fsync = o.fsync;
    silences_ = std::make_unique<SilenceStore>(sso, o.wall);
    Silences* silences = silences_.get();
    if (o.sharing) {
        shared_silences_ = std::make_unique<RedisSilences>(
            *silences_, RedisSilencesOptions{.url = o.sharing->url,
                                             .prefix = "planner:" + o.sharing->group + ":silence:",
                                             .log = &log_});
        shared_silences_->start();
        silences = shared_silences_.get();
    }
    // The budget's window survives a restart: the action files say what ran without a human.
    // So does escalation's history: a flapping service or a failed fix is not forgotten. Both
    // read the store's own start-up scan: the directory is parsed once.
    std::vector<ActionFile> history;
    if (store_) history = store_->take_startup_scan();
    agent_ =
        std::make_unique<PlannerAgent>(o.agent, PlannerAgentParts{.router = *router_,
                                                                  .actions = *sink,
                                                                  .events = *events_,
                                                                  .log = log_,
                                                                  .steady = o.steady,
                                                                  .wall = o.wall,
                                                                  .pending = store_.get(),
                                                                  .silences = silences,
                                                                  .shared_reservations = shared,
                                                                  .history = &history});
    budget_seeded_ = agent_->seeded().budget;
    escalation_seeded_ = agent_->seeded().escalation;
    if (store_) {
        sweeper_ = std::make_unique<ExpirySweeper>(*store_, log_);
    }
}

PlannerService::~PlannerService() {
    if (started_ && !stopped_) stop();
}

void PlannerService::start() {
    if (started_) return;
    started_ = true;
    if (notifier_) notifier_->start();
    agent_->start();
    if (sweeper_ && options_.sweep_in_background) sweeper_->start();
}

StopReport PlannerService::stop(const std::function<void()>& after_agent) {
    if (sweeper_) sweeper_->stop();
    const StopReport report = agent_->stop();
    if (!stopped_ && after_agent) after_agent();
    stopped_ = true;
    // After the agent: what it stored last is still delivered (each try bounded).
    if (notifier_) notifier_->stop();
    return report;
}

std::size_t PlannerService::sweep_once() {
    return sweeper_ ? sweeper_->sweep_once() : 0;
}

void PlannerService::reload(PlannerServiceReload next) {
    const std::size_t max_payload = agent_->options().prompt.max_payload_bytes;
    // The chain first: a null one throws before anything is applied.
    router_->swap(std::move(next.chain));
    agent_->reconfigure(std::move(next.rules),
                        PromptOptions{std::move(next.topology), max_payload});
    agent_->cooldown().set_cooldown(next.cooldown);
    node_->set(std::move(next.node));
}

}  // namespace planner
