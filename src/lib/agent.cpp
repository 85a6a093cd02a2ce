#include "planner/agent.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "agent_detail.hpp"
#include "event_peek.hpp"
#include "planner/detail/json_limits.hpp"
#include "planner/detail/time.hpp"
#include "planner/incidents.hpp"

namespace planner {

namespace {

std::string make_svc_key(std::string_view node, std::string_view service) {
    std::string key;
    key.reserve(node.size() + 1 + service.size());
    key.append(node).append(1, '/').append(service);
    return key;
}

}  // namespace

/// The agent's state and intake; PlannerAgent forwards to it.
class PlannerAgent::Impl {
  public:
    Impl(PlannerAgentOptions options, PlannerAgentParts parts);
    ~Impl();

    void start();
    IntakeResult dispatch_text(std::string_view channel, std::string_view data, DispatchDone done);
    IntakeResult submit(HealthEvent event, DispatchDone done);
    IntakeResult refuse(std::string_view channel, std::string reason);
    HandleResult handle_event(const HealthEvent& event);
    bool wait_idle(std::chrono::milliseconds timeout);
    StopReport stop();
    PlannerCounters counters() const;
    std::string system_prompt() const;
    void reconfigure(HouseRules rules, PromptOptions prompt);
    std::chrono::steady_clock::duration oldest_in_flight_age() const;
    std::size_t queue_depth() const;
    std::size_t in_flight() const;

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
    /// parts.shared_reservations: reserve a key that passed the local checks; after a plan,
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
    SharedReservations* shared_;
    HistorySeeded seeded_;
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

bool DispatchOutcome::settled() const noexcept {
    switch (intake) {
        case IntakeResult::queue_full:
        case IntakeResult::stopped:
            return false;
        case IntakeResult::queued:
            return handled.has_value() && *handled != HandleResult::write_failed &&
                   *handled != HandleResult::abandoned;
        default:
            return true;
    }
}

PlannerAgent::Impl::Impl(PlannerAgentOptions options, PlannerAgentParts parts)
    : options_(std::move(options)),
      log_(parts.log),
      steady_(std::move(parts.steady)),
      wall_(parts.wall),
      pending_(parts.pending),
      silences_(parts.silences),
      shared_(parts.shared_reservations),
      cooldown_(options_.cooldown, steady_),
      budget_(steady_, parts.wall),
      escalation_(steady_, parts.wall),
      actions_(parts.actions),
      incidents_(options_.prompt.topology, options_.rules.inhibit_window),
      counters_(std::make_unique<detail::CounterBoard>()),
      plan_(std::make_unique<detail::PlanStep>(
          options_, parts.router, parts.actions, parts.events, parts.log, cooldown_, *counters_,
          std::move(parts.wall), parts.pending, &budget_, &escalation_, shared_)),
      follow_ups_(std::make_unique<detail::FollowUpQueue>()) {
    plan_->set_incidents(&incidents_);
    options_.workers = std::max<std::size_t>(options_.workers, 1);
    options_.queue_capacity = std::max<std::size_t>(options_.queue_capacity, 1);
    if (parts.history != nullptr) {
        seeded_.budget = budget_.seed_from_actions(*parts.history, options_.rules.budget.window);
        seeded_.escalation =
            escalation_.seed_from_actions(*parts.history, options_.rules.escalate.window);
    }
}

PlannerAgent::Impl::~Impl() {
    stop();
    for (auto& w : workers_) {
        if (w.joinable()) w.join();
    }
    if (follow_up_thread_.joinable()) follow_up_thread_.join();
}

void PlannerAgent::Impl::start() {
    std::lock_guard lock(mutex_);
    if (!workers_.empty() || stopped_) return;
    for (std::size_t i = 0; i < options_.workers; ++i) {
        workers_.emplace_back([this] { worker_loop(); });
    }
    if (!follow_up_thread_.joinable()) {
        follow_up_thread_ = std::thread([this] { follow_up_loop(); });
    }
}

void PlannerAgent::Impl::count(std::uint64_t PlannerCounters::*field) {
    counters_->add(field);
}

PlannerCounters PlannerAgent::Impl::counters() const {
    return counters_->snapshot();
}

std::string PlannerAgent::Impl::system_prompt() const {
    return plan_->guidance()->system_prompt;
}

void PlannerAgent::Impl::reconfigure(HouseRules rules, PromptOptions prompt) {
    incidents_.reconfigure(prompt.topology, rules.inhibit_window);
    plan_->reconfigure(std::move(rules), std::move(prompt));
}

IntakeResult PlannerAgent::Impl::reject(std::string_view channel, std::string reason,
                                        std::size_t bytes) {
    count(&PlannerCounters::malformed);
    // The content is not logged: it is arbitrary bytes from the bus, possibly huge.
    log_.log(LogLevel::warn, "skip_malformed",
             {{"channel", channel}, {"reason", std::move(reason)}, {"bytes", bytes}});
    return IntakeResult::malformed;
}

// Each intake entry point counts the message as received only after it was queued or skipped,
// so whoever sees `received` move (the exit summary, a test waiting for idle) never sees a
// message that is in neither state.

IntakeResult PlannerAgent::Impl::dispatch_text(std::string_view channel, std::string_view data,
                                               DispatchDone done) {
    const auto result = intake_text(channel, data, &done);
    counters_->received(channel);
    if (result != IntakeResult::queued && done) done(DispatchOutcome{result, std::nullopt});
    return result;
}

IntakeResult PlannerAgent::Impl::refuse(std::string_view channel, std::string reason) {
    const auto result = reject(channel, std::move(reason), 0);
    counters_->received(channel);
    return result;
}

IntakeResult PlannerAgent::Impl::intake_text(std::string_view channel, std::string_view data,
                                             DispatchDone* done) {
    if (data.size() > options_.max_message_bytes) {
        return reject(channel,
                      "message is " + std::to_string(data.size()) + " bytes, limit " +
                          std::to_string(options_.max_message_bytes),
                      data.size());
    }
    // nlohmann's parser recurses once per level: refuse deep nesting before it sees the text.
    const std::size_t max_depth = options_.limits.max_payload_depth + 1;
    if (detail::json_text_exceeds_depth(data, max_depth)) {
        return reject(channel, "JSON nests deeper than " + std::to_string(max_depth) + " levels",
                      data.size());
    }
    // Most of the bus is heartbeats and repeats in cooldown: decide those without a DOM. When
    // the peek can read the message it feeds the one decision; otherwise the full parse does.
    std::string reserved;
    detail::EventPeek peek;
    if (peek.read(data) && peek.valid(options_.limits)) {
        if (const auto skipped = defer(screen(peek.event_type(), peek.node(), peek.service()))) {
            return *skipped;
        }
        reserved = make_svc_key(peek.node(), peek.service());
    }
    auto raw = nlohmann::json::parse(data, nullptr, /*allow_exceptions=*/false);
    auto parsed = raw.is_discarded()
                      ? EventParseResult{std::nullopt, "not valid JSON"}
                      : try_parse_event(std::move(raw), channel, detail::to_epoch_seconds(wall_()),
                                        options_.limits);
    // The peek checked the fields by the parser's own table (check_event_fields), so a message
    // it vouched for parses here with the same key; only running out of memory fails it now.
    if (!parsed) {
        if (!reserved.empty()) release(reserved);
        return reject(channel, std::move(parsed.error), data.size());
    }
    if (reserved.empty()) {
        const auto& e = *parsed.event;
        if (const auto skipped = defer(screen(e.event_type, e.node, e.service))) return *skipped;
    }
    return enqueue(std::move(*parsed.event), done);
}

IntakeResult PlannerAgent::Impl::submit(HealthEvent event, DispatchDone done) {
    const std::string channel = event.raw_channel;
    auto result = defer(screen(event.event_type, event.node, event.service));
    if (!result) result = enqueue(std::move(event), &done);
    counters_->received(channel);
    if (*result != IntakeResult::queued && done) done(DispatchOutcome{*result, std::nullopt});
    return *result;
}

detail::Screening PlannerAgent::Impl::screen(std::string_view event_type, std::string_view node,
                                             std::string_view service, bool reserve) {
    // The hot path of a busy bus: build no log fields that the sink would drop.
    if (is_benign_event_type(event_type)) {
        count(&PlannerCounters::benign);
        if (log_.enabled(LogLevel::debug)) {
            log_.log(LogLevel::debug, "skip_benign",
                     {{"key", make_svc_key(node, service)}, {"type", event_type}});
        }
        return {IntakeResult::benign, {}};
    }
    std::string key = make_svc_key(node, service);
    // A person said so: before cooldowns and pending proposals, and without starting either.
    if (silences_ != nullptr) {
        if (const auto silence = silences_->active_match(key, wall_())) {
            count(&PlannerCounters::silenced);
            if (log_.enabled(LogLevel::debug)) {
                log_.log(LogLevel::debug, "skip_silenced",
                         {{"key", key}, {"silence_id", *silence}});
            }
            return {IntakeResult::silenced, {}};
        }
    }
    // A symptom of an open incident upstream: the root cause's proposal is the one to decide.
    if (const auto root = inhibited_by(key, event_type)) {
        count(&PlannerCounters::inhibited);
        if (log_.enabled(LogLevel::debug)) {
            log_.log(LogLevel::debug, "skip_inhibited", {{"key", key}, {"by", *root}});
        }
        detail::Screening inhibited{IntakeResult::inhibited, {}};
        // Listed on the root cause's proposal: after the decision, if it is pending by then.
        if (incidents_.note_symptom(*root, key) && pending_ != nullptr) {
            inhibited.follow_ups.push_back(
                {detail::FollowUp::Kind::affected, std::move(key), std::move(*root), {}});
        }
        return inhibited;
    }
    IntakeResult verdict{};
    std::optional<std::string> pending_id;
    bool ask_replicas = false;
    {
        // Cooldown, coalescing and the pending proposal are read, and the key reserved, under
        // the lock the workers take to release a key after recording its cooldown (and telling
        // the pending index): a message that passes here can never slip in between a plan's
        // records and its key's release.
        std::lock_guard lock(mutex_);
        if (!cooldown_.is_ready(key)) {
            verdict = IntakeResult::cooldown;
        } else if (reserve && !accepting_) {
            verdict = IntakeResult::stopped;
        } else if (reserve && pending_keys_.contains(key)) {
            verdict = IntakeResult::coalesced;
        } else if (pending_ != nullptr &&
                   (pending_id = pending_->find_pending(node, service)).has_value()) {
            // The skip starts a cooldown too, so a flapping service costs one file read and
            // one rewrite of the pending proposal per cooldown period, not one per message. A
            // different fact from PlanStep::start_cooldown's: it throttles this planner's
            // rewrites of a proposal that exists, and is never shared with replicas (they see
            // the same pending proposal in the store).
            cooldown_.record(key);
            verdict = IntakeResult::pending;
        } else {
            if (!reserve) return {};
            pending_keys_.insert(key);
            if (shared_ == nullptr) return {};
            ask_replicas = true;
        }
    }
    // Outside the lock: a round trip to the shared store must not stall the workers.
    if (ask_replicas) {
        if (reserve_with_replicas(key)) return {};
        std::lock_guard lock(mutex_);
        pending_keys_.erase(key);
        verdict = IntakeResult::cooldown;
    }
    detail::Screening screening{verdict, {}};
    switch (verdict) {
        case IntakeResult::cooldown:
            count(&PlannerCounters::cooldown);
            if (log_.enabled(LogLevel::debug)) {
                if (ask_replicas) {
                    // Another planner has it (planning, or planned within the cooldown).
                    log_.log(LogLevel::debug, "skip_cooldown", {{"key", key}, {"shared", true}});
                } else {
                    log_.log(LogLevel::debug, "skip_cooldown",
                             {{"key", key}, {"remaining_s", cooldown_.remaining_seconds(key)}});
                }
            }
            break;
        case IntakeResult::pending:
            count(&PlannerCounters::pending);
            if (log_.enabled(LogLevel::debug)) {
                log_.log(LogLevel::debug, "skip_pending",
                         {{"key", key}, {"action_id", *pending_id}});
            }
            // Counted on the proposal a person is looking at (and escalated), after the decision.
            screening.follow_ups.push_back({detail::FollowUp::Kind::occurrence, std::move(key),
                                            std::move(*pending_id), wall_()});
            break;
        case IntakeResult::stopped:
            count(&PlannerCounters::stopping);
            if (log_.enabled(LogLevel::debug)) {
                log_.log(LogLevel::debug, "skip_stopping", {{"key", key}});
            }
            break;
        default:
            count(&PlannerCounters::coalesced);
            if (log_.enabled(LogLevel::debug)) {
                log_.log(LogLevel::debug, "skip_coalesced", {{"key", key}});
            }
            break;
    }
    return screening;
}

std::optional<std::string> PlannerAgent::Impl::inhibited_by(const std::string& key,
                                                            std::string_view event_type) {
    const auto now = steady_();
    if (auto root = incidents_.open_root_for(key, now)) return root;
    if (pending_ != nullptr) {
        // A proposal still waiting keeps its incident open past the window.
        for (const auto& dep : incidents_.dependencies_of(key)) {
            const auto slash = dep.find('/');
            if (pending_->find_pending(std::string_view(dep).substr(0, slash),
                                       std::string_view(dep).substr(slash + 1))) {
                return dep;
            }
        }
    }
    // Not a symptom: its own incident opens (or stays open), whatever screen() decides next.
    incidents_.record(key, is_node_down_event_type(event_type), now);
    return std::nullopt;
}

std::optional<IntakeResult> PlannerAgent::Impl::defer(detail::Screening screening) {
    if (!screening.follow_ups.empty()) {
        std::unique_lock lock(mutex_);
        auto& q = *follow_ups_;
        // Started with the first one, so an agent that was never start()ed (tests, embedders
        // calling dispatch alone) still records them, and never on this thread.
        if (!follow_up_exit_ && !follow_up_thread_.joinable()) {
            follow_up_thread_ = std::thread([this] { follow_up_loop(); });
        }
        std::size_t dropped = 0;
        for (auto& f : screening.follow_ups) {
            if (follow_up_exit_ || q.waiting.size() >= detail::FollowUpQueue::kCapacity) {
                ++dropped;
                continue;
            }
            q.waiting.push_back(std::move(f));
        }
        q.dropped += dropped;
        const bool stopped = follow_up_exit_;
        lock.unlock();
        follow_up_ready_.notify_one();
        if (dropped > 0) {
            log_.log(LogLevel::warn, "follow_up_dropped",
                     {{"key", screening.follow_ups.front().key},
                      {"count", dropped},
                      {"reason", stopped ? "stopped" : "queue_full"},
                      {"capacity", detail::FollowUpQueue::kCapacity}});
        }
    }
    return screening.verdict;
}

void PlannerAgent::Impl::follow_up_loop() {
    std::unique_lock lock(mutex_);
    auto& q = *follow_ups_;
    for (;;) {
        follow_up_ready_.wait(lock, [&] { return !q.waiting.empty() || follow_up_exit_; });
        if (q.waiting.empty()) return;
        const detail::FollowUp f = std::move(q.waiting.front());
        q.waiting.pop_front();
        q.busy = true;
        lock.unlock();
        plan_->follow_up(f);
        lock.lock();
        q.busy = false;
        if (idle_locked()) idle_.notify_all();
    }
}

bool PlannerAgent::Impl::idle_locked() const {
    return queue_.empty() && in_flight_.empty() && follow_ups_->waiting.empty() &&
           !follow_ups_->busy;
}

void PlannerAgent::Impl::release(const std::string& key) {
    std::lock_guard lock(mutex_);
    pending_keys_.erase(key);
    if (idle_locked()) idle_.notify_all();
}

IntakeResult PlannerAgent::Impl::enqueue(HealthEvent event, DispatchDone* done) {
    std::unique_lock lock(mutex_);
    for (;;) {
        if (!accepting_) {
            pending_keys_.erase(event.svc_key());
            lock.unlock();
            count(&PlannerCounters::stopping);
            if (log_.enabled(LogLevel::debug)) {
                log_.log(LogLevel::debug, "skip_stopping", {{"key", event.svc_key()}});
            }
            return IntakeResult::stopped;
        }
        if (queue_.size() < options_.queue_capacity) break;
        if (!options_.wait_when_full) {
            pending_keys_.erase(event.svc_key());
            lock.unlock();
            count(&PlannerCounters::queue_full);
            log_.log(LogLevel::warn, "skip_queue_full",
                     {{"key", event.svc_key()}, {"capacity", options_.queue_capacity}});
            return IntakeResult::queue_full;
        }
        space_ready_.wait(lock);
    }
    queue_.push_back(Queued{std::move(event), done != nullptr ? std::move(*done) : DispatchDone{}});
    lock.unlock();
    work_ready_.notify_one();
    return IntakeResult::queued;
}

bool PlannerAgent::Impl::reserve_with_replicas(const std::string& key) {
    try {
        return shared_->try_reserve(key);
    } catch (const std::exception& e) {
        // The store is away (Redis restarting): plan anyway; this planner's own cooldown and
        // the pending proposal rule still hold, and the intake is likely paused as well.
        log_.log(LogLevel::warn, "shared_reservation_failed", {{"key", key}, {"error", e.what()}});
        return true;
    }
}

void PlannerAgent::Impl::tell_replicas(const std::string& key, HandleResult handled) {
    if (shared_ == nullptr) return;
    try {
        // A proposal's or an `ignore`'s shared cooldown started in the plan step
        // (PlanStep::start_cooldown); any other outcome gives the key back.
        if (handled == HandleResult::proposed || handled == HandleResult::ignored) return;
        shared_->release(key);
    } catch (const std::exception& e) {
        log_.log(LogLevel::warn, "shared_reservation_failed", {{"key", key}, {"error", e.what()}});
    }
}

void PlannerAgent::Impl::worker_loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
        work_ready_.wait(lock, [this] { return !queue_.empty() || exit_; });
        if (queue_.empty()) return;
        Queued item = std::move(queue_.front());
        queue_.pop_front();
        const std::string key = item.event.svc_key();
        in_flight_.push_back({key, steady_()});
        lock.unlock();
        space_ready_.notify_one();

        const HandleResult handled = plan_->run(item.event, abandoned_);
        tell_replicas(key, handled);

        lock.lock();
        pending_keys_.erase(key);
        std::erase_if(in_flight_, [&](const InFlight& f) { return f.key == key; });
        // Told under the lock, before idle is signalled: whoever waits for idle (stop(), a
        // test) finds every finished message already told.
        if (item.done) item.done(DispatchOutcome{IntakeResult::queued, handled});
        if (idle_locked()) idle_.notify_all();
    }
}

HandleResult PlannerAgent::Impl::handle_event(const HealthEvent& event) {
    auto screening = screen(event.event_type, event.node, event.service, false);
    // Not intake: this caller waits for the answer anyway, so what was decided is recorded here.
    for (const auto& f : screening.follow_ups) plan_->follow_up(f);
    if (const auto skipped = screening.verdict) {
        switch (*skipped) {
            case IntakeResult::benign:
                return HandleResult::benign;
            case IntakeResult::pending:
                return HandleResult::pending;
            case IntakeResult::silenced:
                return HandleResult::silenced;
            case IntakeResult::inhibited:
                return HandleResult::inhibited;
            default:
                return HandleResult::cooldown;
        }
    }
    return plan_->run(event, abandoned_);
}

bool PlannerAgent::Impl::wait_idle(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return idle_.wait_for(lock, timeout, [this] { return idle_locked(); });
}

StopReport PlannerAgent::Impl::stop() {
    StopReport report;
    std::vector<DispatchDone> dropped;  // told after the lock is given back
    std::unique_lock lock(mutex_);
    if (stopped_) return report;
    stopped_ = true;
    accepting_ = false;
    space_ready_.notify_all();
    if (!workers_.empty()) {
        report.drained =
            idle_.wait_for(lock, options_.stop_grace, [this] { return idle_locked(); });
    } else {
        report.drained = queue_.empty();
        if (follow_up_thread_.joinable()) {
            report.drained = idle_.wait_for(lock, options_.stop_grace, [this] {
                return follow_ups_->waiting.empty() && !follow_ups_->busy;
            }) && report.drained;
        }
    }
    // What was decided but not recorded within the grace period is given up: each is one
    // occurrence or one affected service on a proposal, never a plan.
    const std::size_t follow_ups_dropped = follow_ups_->waiting.size();
    follow_ups_->dropped += follow_ups_dropped;
    follow_ups_->waiting.clear();
    follow_up_exit_ = true;
    const bool follow_up_busy = follow_ups_->busy;
    if (!report.drained) {
        abandoned_ = true;
        report.abandoned_queued = queue_.size();
        report.still_in_flight = in_flight_.size();
        for (auto& q : queue_) {
            pending_keys_.erase(q.event.svc_key());
            if (q.done) dropped.push_back(std::move(q.done));
        }
        queue_.clear();
    }
    exit_ = true;
    lock.unlock();
    work_ready_.notify_all();
    follow_up_ready_.notify_all();
    if (follow_ups_dropped > 0) {
        log_.log(LogLevel::warn, "follow_up_dropped",
                 {{"count", follow_ups_dropped}, {"reason", "stopped"}});
    }
    if (!follow_up_busy && follow_up_thread_.joinable()) follow_up_thread_.join();
    for (const auto& done : dropped) {
        done(DispatchOutcome{IntakeResult::queued, HandleResult::abandoned});
    }
    if (report.abandoned_queued > 0)
        counters_->add(&PlannerCounters::abandoned, report.abandoned_queued);
    if (!report.drained) {
        log_.log(LogLevel::warn, "stop_abandoned",
                 {{"queued", report.abandoned_queued}, {"in_flight", report.still_in_flight}});
    }
    if (report.still_in_flight == 0) {
        for (auto& w : workers_) {
            if (w.joinable()) w.join();
        }
    }
    return report;
}

std::chrono::steady_clock::duration PlannerAgent::Impl::oldest_in_flight_age() const {
    const auto now = steady_();
    std::lock_guard lock(mutex_);
    std::chrono::steady_clock::duration oldest{0};
    for (const auto& f : in_flight_) oldest = std::max(oldest, now - f.since);
    return oldest;
}

std::size_t PlannerAgent::Impl::queue_depth() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
}

std::size_t PlannerAgent::Impl::in_flight() const {
    std::lock_guard lock(mutex_);
    return in_flight_.size();
}

PlannerAgent::PlannerAgent(PlannerAgentOptions options, PlannerAgentParts parts)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(parts))) {}
PlannerAgent::~PlannerAgent() = default;
void PlannerAgent::start() {
    impl_->start();
}
IntakeResult PlannerAgent::dispatch_text(std::string_view channel, std::string_view data,
                                         DispatchDone done) {
    return impl_->dispatch_text(channel, data, std::move(done));
}
IntakeResult PlannerAgent::submit(HealthEvent event, DispatchDone done) {
    return impl_->submit(std::move(event), std::move(done));
}
IntakeResult PlannerAgent::refuse(std::string_view channel, std::string reason) {
    return impl_->refuse(channel, std::move(reason));
}
HandleResult PlannerAgent::handle_event(const HealthEvent& event) {
    return impl_->handle_event(event);
}
bool PlannerAgent::wait_idle(std::chrono::milliseconds timeout) {
    return impl_->wait_idle(timeout);
}
StopReport PlannerAgent::stop() {
    return impl_->stop();
}
PlannerCounters PlannerAgent::counters() const {
    return impl_->counters();
}
CooldownTracker& PlannerAgent::cooldown() noexcept {
    return impl_->cooldown_;
}
RemediationBudget& PlannerAgent::budget() noexcept {
    return impl_->budget_;
}
EscalationHistory& PlannerAgent::escalation() noexcept {
    return impl_->escalation_;
}
HistorySeeded PlannerAgent::seeded() const noexcept {
    return impl_->seeded_;
}
const PlannerAgentOptions& PlannerAgent::options() const noexcept {
    return impl_->options_;
}
std::string PlannerAgent::system_prompt() const {
    return impl_->system_prompt();
}
void PlannerAgent::reconfigure(HouseRules rules, PromptOptions prompt) {
    impl_->reconfigure(std::move(rules), std::move(prompt));
}
std::chrono::steady_clock::duration PlannerAgent::oldest_in_flight_age() const {
    return impl_->oldest_in_flight_age();
}
std::size_t PlannerAgent::queue_depth() const {
    return impl_->queue_depth();
}
std::size_t PlannerAgent::in_flight() const {
    return impl_->in_flight();
}

}  // namespace planner
