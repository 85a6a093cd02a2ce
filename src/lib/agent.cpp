#include "planner/agent.hpp"

#include <algorithm>
#include <array>
#include <exception>

#include "planner/detail/json_limits.hpp"
#include "planner/detail/time.hpp"
#include "planner/plan.hpp"
#include "planner/schema.hpp"

namespace planner {

namespace {

/// Channel names come from the bus; past this many, they share one counter.
constexpr std::size_t kMaxCountedChannels = 64;
constexpr std::string_view kOtherChannels = "(other)";

std::string make_svc_key(std::string_view node, std::string_view service) {
    std::string key;
    key.reserve(node.size() + 1 + service.size());
    key.append(node).append(1, '/').append(service);
    return key;
}

/// A first pass over a message that builds no DOM (nlohmann's SAX interface): the top-level
/// names intake decides on, and whether try_parse_event would accept the message. Intake skips
/// a message on this pass's word only when it is valid here and benign or in cooldown; all
/// else takes the full parse, which stays the one place that rejects and explains.
/// When unsure (a repeated field, say) it answers "not valid", which costs only speed.
class EventPeek {
  public:
    using json = nlohmann::json;

    bool null() { return scalar(Kind::null); }
    bool boolean(bool) { return scalar(Kind::other); }
    bool number_integer(json::number_integer_t) { return scalar(Kind::number); }
    bool number_unsigned(json::number_unsigned_t) { return scalar(Kind::number); }
    bool number_float(json::number_float_t, const json::string_t&) { return scalar(Kind::number); }
    bool string(json::string_t& s) {
        if (depth_ == 1 && current_ != kNone) fields_[current_].text = s;
        return scalar(Kind::string);
    }
    bool binary(json::binary_t&) { return scalar(Kind::other); }
    bool start_object(std::size_t) { return open(Kind::object); }
    bool end_object() { return close(); }
    bool start_array(std::size_t) { return open(Kind::other); }
    bool end_array() { return close(); }
    bool key(json::string_t& k) {
        if (depth_ != 1) return true;
        current_ = kNone;
        for (std::size_t i = 0; i < kNames.size(); ++i) {
            if (k == kNames[i]) current_ = i;
        }
        if (current_ != kNone && fields_[current_].kind != Kind::absent) repeated_ = true;
        return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
        return false;
    }

    /// The same checks, in effect, as try_parse_event.
    bool valid(const EventLimits& limits) const {
        if (!top_is_object_ || repeated_) return false;
        const auto name_ok = [&](std::size_t f) {
            const Field& x = fields_[f];
            if (x.kind == Kind::absent || x.kind == Kind::null) return true;
            return x.kind == Kind::string && x.text.size() <= limits.max_name_bytes;
        };
        if (!name_ok(kNode) || !name_ok(kType) || !name_ok(kService) || !name_ok(kSeverity)) {
            return false;
        }
        if (fields_[kType].text.empty() && !name_ok(kEventType)) return false;
        if (node().empty() || event_type().empty()) return false;
        const Kind payload = fields_[kPayload].kind;
        if (payload != Kind::absent && payload != Kind::null &&
            (payload != Kind::object || payload_depth_ > limits.max_payload_depth)) {
            return false;
        }
        const Kind ts = fields_[kTimestamp].kind;
        return ts == Kind::absent || ts == Kind::null || ts == Kind::number || ts == Kind::string;
    }

    std::string_view node() const { return fields_[kNode].text; }
    std::string_view event_type() const {
        return fields_[kType].text.empty() ? fields_[kEventType].text : fields_[kType].text;
    }
    std::string_view service() const {
        return fields_[kService].text.empty() ? node() : fields_[kService].text;
    }

  private:
    enum class Kind { absent, null, string, number, object, other };
    struct Field {
        Kind kind = Kind::absent;
        std::string text;  ///< set only for a string
    };
    static constexpr std::size_t kNode = 0, kType = 1, kEventType = 2, kService = 3, kSeverity = 4,
                                 kPayload = 5, kTimestamp = 6, kNone = 7;
    static constexpr std::array<std::string_view, 7> kNames{
        "node", "type", "event_type", "service", "severity", "payload", "timestamp"};

    bool scalar(Kind kind) {
        if (depth_ == 0) top_is_object_ = false;
        if (depth_ == 1 && current_ != kNone) fields_[current_].kind = kind;
        return true;
    }
    bool open(Kind kind) {
        if (depth_ == 0) top_is_object_ = kind == Kind::object;
        if (depth_ == 1 && current_ != kNone) fields_[current_].kind = kind;
        ++depth_;
        if (depth_ >= 2 && current_ == kPayload) {
            payload_depth_ = std::max(payload_depth_, depth_ - 1);
        }
        return true;
    }
    bool close() {
        --depth_;
        return true;
    }

    std::array<Field, 7> fields_{};
    std::size_t current_ = kNone;
    std::size_t depth_ = 0;
    std::size_t payload_depth_ = 0;
    bool top_is_object_ = false;
    bool repeated_ = false;
};

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
              {"queue_full", queue_full},
              {"stopping", stopping}}},
            {"routed", routed},
            {"proposals", proposals},
            {"chain_failures", chain_failures},
            {"write_failures", write_failures},
            {"emit_failures", emit_failures},
            {"abandoned", abandoned}};
}

PlannerAgent::PlannerAgent(PlannerAgentOptions options, LLMRouter& router, ActionSink& actions,
                           EventSink& events, LogSink& log, SteadyTimeSource steady,
                           WallTimeSource wall)
    : options_(std::move(options)),
      system_prompt_(build_system_prompt(options_.prompt)),
      router_(router),
      actions_(actions),
      events_(events),
      log_(log),
      steady_(std::move(steady)),
      wall_(std::move(wall)),
      cooldown_(options_.cooldown, steady_) {
    options_.workers = std::max<std::size_t>(options_.workers, 1);
    options_.queue_capacity = std::max<std::size_t>(options_.queue_capacity, 1);
}

PlannerAgent::~PlannerAgent() {
    stop();
    for (auto& w : workers_) {
        if (w.joinable()) w.join();
    }
}

void PlannerAgent::start() {
    std::lock_guard lock(mutex_);
    if (!workers_.empty() || stopped_) return;
    for (std::size_t i = 0; i < options_.workers; ++i) {
        workers_.emplace_back([this] { worker_loop(); });
    }
}

void PlannerAgent::count(std::uint64_t PlannerCounters::*field) {
    std::lock_guard lock(counters_mutex_);
    ++(counters_.*field);
}

void PlannerAgent::count_received(std::string_view channel) {
    std::lock_guard lock(counters_mutex_);
    auto it = counters_.received.find(std::string(channel));
    if (it == counters_.received.end()) {
        const bool room = counters_.received.size() < kMaxCountedChannels;
        it = counters_.received
                 .try_emplace(room ? std::string(channel) : std::string(kOtherChannels))
                 .first;
    }
    ++it->second;
}

PlannerCounters PlannerAgent::counters() const {
    std::lock_guard lock(counters_mutex_);
    return counters_;
}

IntakeResult PlannerAgent::reject(std::string_view channel, std::string reason, std::size_t bytes) {
    count(&PlannerCounters::malformed);
    // The content is not logged: it is arbitrary bytes from the bus, possibly huge.
    log_.log(LogLevel::warn, "skip_malformed",
             {{"channel", channel}, {"reason", std::move(reason)}, {"bytes", bytes}});
    return IntakeResult::malformed;
}

// Each intake entry point counts the message as received only after it was queued or skipped,
// so whoever sees `received` move (the exit summary, a test waiting for idle) never sees a
// message that is in neither state.

IntakeResult PlannerAgent::dispatch(std::string_view channel, const nlohmann::json& data) {
    const auto result =
        data.is_string()
            ? intake_text(channel, data.get_ref<const std::string&>())
            : reject(channel, std::string("data must be a string, got ") + data.type_name(), 0);
    count_received(channel);
    return result;
}

IntakeResult PlannerAgent::dispatch_text(std::string_view channel, std::string_view data) {
    const auto result = intake_text(channel, data);
    count_received(channel);
    return result;
}

IntakeResult PlannerAgent::intake_text(std::string_view channel, std::string_view data) {
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
    // Most of the bus is heartbeats and repeats in cooldown: decide those without a DOM.
    EventPeek peek;
    if (nlohmann::json::sax_parse(data, &peek) && peek.valid(options_.limits)) {
        if (const auto skipped = suppress(peek.event_type(), peek.node(), peek.service())) {
            return *skipped;
        }
    }
    auto raw = nlohmann::json::parse(data, nullptr, /*allow_exceptions=*/false);
    if (raw.is_discarded()) return reject(channel, "not valid JSON", data.size());
    auto parsed = try_parse_event(std::move(raw), channel, detail::to_epoch_seconds(wall_()),
                                  options_.limits);
    if (!parsed) return reject(channel, std::move(parsed.error), data.size());
    return enqueue(std::move(*parsed.event));
}

IntakeResult PlannerAgent::submit(HealthEvent event) {
    const std::string channel = event.raw_channel;
    const auto result = enqueue(std::move(event));
    count_received(channel);
    return result;
}

std::optional<IntakeResult> PlannerAgent::suppress(std::string_view event_type,
                                                   std::string_view node,
                                                   std::string_view service) {
    // The hot path of a busy bus: build no log fields that the sink would drop.
    if (is_benign_event_type(event_type)) {
        count(&PlannerCounters::benign);
        if (log_.enabled(LogLevel::debug)) {
            log_.log(LogLevel::debug, "skip_benign",
                     {{"key", make_svc_key(node, service)}, {"type", event_type}});
        }
        return IntakeResult::benign;
    }
    const std::string key = make_svc_key(node, service);
    if (!cooldown_.is_ready(key)) {
        count(&PlannerCounters::cooldown);
        if (log_.enabled(LogLevel::debug)) {
            log_.log(LogLevel::debug, "skip_cooldown",
                     {{"key", key}, {"remaining_s", cooldown_.remaining_seconds(key)}});
        }
        return IntakeResult::cooldown;
    }
    return std::nullopt;
}

IntakeResult PlannerAgent::enqueue(HealthEvent event) {
    if (const auto skipped = suppress(event.event_type, event.node, event.service)) {
        return *skipped;
    }
    std::string key = event.svc_key();
    std::unique_lock lock(mutex_);
    for (;;) {
        if (!accepting_) {
            lock.unlock();
            count(&PlannerCounters::stopping);
            if (log_.enabled(LogLevel::debug)) {
                log_.log(LogLevel::debug, "skip_stopping", {{"key", key}});
            }
            return IntakeResult::stopped;
        }
        if (pending_keys_.contains(key)) {
            lock.unlock();
            count(&PlannerCounters::coalesced);
            if (log_.enabled(LogLevel::debug)) {
                log_.log(LogLevel::debug, "skip_coalesced", {{"key", key}});
            }
            return IntakeResult::coalesced;
        }
        if (queue_.size() < options_.queue_capacity) break;
        if (!options_.wait_when_full) {
            lock.unlock();
            count(&PlannerCounters::queue_full);
            log_.log(LogLevel::warn, "skip_queue_full",
                     {{"key", key}, {"capacity", options_.queue_capacity}});
            return IntakeResult::queue_full;
        }
        space_ready_.wait(lock);
    }
    pending_keys_.insert(key);
    queue_.push_back(std::move(event));
    lock.unlock();
    work_ready_.notify_one();
    return IntakeResult::queued;
}

void PlannerAgent::worker_loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
        work_ready_.wait(lock, [this] { return !queue_.empty() || exit_; });
        if (queue_.empty()) return;
        HealthEvent event = std::move(queue_.front());
        queue_.pop_front();
        const std::string key = event.svc_key();
        in_flight_.push_back({key, steady_()});
        lock.unlock();
        space_ready_.notify_one();

        handle_event(event);

        lock.lock();
        pending_keys_.erase(key);
        std::erase_if(in_flight_, [&](const InFlight& f) { return f.key == key; });
        if (queue_.empty() && in_flight_.empty()) idle_.notify_all();
    }
}

HandleResult PlannerAgent::handle_event(const HealthEvent& event) {
    const std::string key = event.svc_key();
    if (is_benign_event_type(event.event_type)) {
        count(&PlannerCounters::benign);
        if (log_.enabled(LogLevel::debug)) {
            log_.log(LogLevel::debug, "skip_benign", {{"key", key}, {"type", event.event_type}});
        }
        return HandleResult::benign;
    }
    if (!cooldown_.is_ready(key)) {
        count(&PlannerCounters::cooldown);
        if (log_.enabled(LogLevel::debug)) {
            log_.log(LogLevel::debug, "skip_cooldown",
                     {{"key", key}, {"remaining_s", cooldown_.remaining_seconds(key)}});
        }
        return HandleResult::cooldown;
    }
    try {
        return plan(event);
    } catch (const std::exception& e) {
        // Only a bug gets here (the sinks' and router's failures are handled in plan).
        count(&PlannerCounters::chain_failures);
        log_.log(LogLevel::error, "plan_failed", {{"key", key}, {"error", e.what()}});
        return HandleResult::chain_failed;
    } catch (...) {
        count(&PlannerCounters::chain_failures);
        log_.log(LogLevel::error, "plan_failed", {{"key", key}, {"error", "unknown exception"}});
        return HandleResult::chain_failed;
    }
}

HandleResult PlannerAgent::plan(const HealthEvent& event) {
    const std::string key = event.svc_key();
    const auto messages = build_messages(event, options_.prompt, system_prompt_);
    count(&PlannerCounters::routed);
    RouteResult result;
    try {
        result = router_.route(messages, proposal_schema());
    } catch (const RouteError& e) {
        count(&PlannerCounters::chain_failures);
        log_.log(LogLevel::warn, "chain_failed",
                 {{"key", key}, {"error", e.what()}, {"attempts", e.attempts()}});
        return HandleResult::chain_failed;
    } catch (const std::exception& e) {
        count(&PlannerCounters::chain_failures);
        log_.log(LogLevel::warn, "chain_failed", {{"key", key}, {"error", e.what()}});
        return HandleResult::chain_failed;
    } catch (...) {
        count(&PlannerCounters::chain_failures);
        log_.log(LogLevel::warn, "chain_failed", {{"key", key}, {"error", "unknown exception"}});
        return HandleResult::chain_failed;
    }

    ActionProposal p = make_proposal(event, result, options_.prompt.rules);
    p.created_at = wall_();
    p.action_id = make_action_id(event, p.created_at, sequence_.fetch_add(1) + 1);
    {
        std::lock_guard lock(counters_mutex_);
        ++counters_.proposals[p.action];
    }
    nlohmann::json summary = {
        {"action_id", p.action_id},   {"key", key},
        {"action", p.action},         {"type", p.type},
        {"risk_level", p.risk_level}, {"requires_human", p.requires_human},
        {"confidence", p.confidence}, {"model", p.llm_model},
        {"attempts", p.llm_attempts}, {"policy_corrections", p.policy_corrections}};
    // A fallback must say why: without the failed attempts, "model": "rules" after a dead GPU
    // box or a revoked key looks the same as a chain configured with rules alone.
    for (const auto& a : result.attempts) {
        if (a.status != AttemptStatus::success) summary["failed_attempts"].push_back(a);
    }
    if (p.action == "ignore") {
        cooldown_.record(key);
        log_.log(LogLevel::info, "proposal_ignored", summary);
        return HandleResult::ignored;
    }
    if (abandoned_.load()) {
        count(&PlannerCounters::abandoned);
        log_.log(LogLevel::warn, "proposal_abandoned", summary);
        return HandleResult::abandoned;
    }

    std::string where;
    try {
        where = actions_.write(p);
    } catch (const std::exception& e) {
        count(&PlannerCounters::write_failures);
        auto fields = summary;
        fields["error"] = e.what();
        log_.log(LogLevel::error, "write_failed", fields);
        return HandleResult::write_failed;
    }
    auto written = summary;
    written["path"] = where;
    log_.log(LogLevel::info, "proposal_written", written);

    PlannerEvent started;
    started.type = "remediation_started";
    started.severity = "info";
    started.service = event.service;
    started.correlation_id = p.action_id;
    // docs/formats.md: the action, where it runs, and the file the executor will pick up.
    started.payload = {{"action", p.action},
                       {"target_node", p.node},
                       {"action_file", p.action_id + ".json"},
                       {"action_id", p.action_id},
                       {"risk_level", p.risk_level},
                       {"requires_human", p.requires_human}};
    try {
        events_.emit(started);
    } catch (const std::exception& e) {
        // The action exists, so the cooldown still applies: a retry would duplicate it.
        count(&PlannerCounters::emit_failures);
        log_.log(LogLevel::error, "emit_failed",
                 {{"action_id", p.action_id}, {"key", key}, {"error", e.what()}});
    }
    cooldown_.record(key);
    return HandleResult::proposed;
}

bool PlannerAgent::wait_idle(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return idle_.wait_for(lock, timeout, [this] { return queue_.empty() && in_flight_.empty(); });
}

StopReport PlannerAgent::stop() {
    StopReport report;
    std::unique_lock lock(mutex_);
    if (stopped_) return report;
    stopped_ = true;
    accepting_ = false;
    space_ready_.notify_all();
    if (!workers_.empty()) {
        report.drained = idle_.wait_for(lock, options_.stop_grace,
                                        [this] { return queue_.empty() && in_flight_.empty(); });
    } else {
        report.drained = queue_.empty();
    }
    if (!report.drained) {
        abandoned_ = true;
        report.abandoned_queued = queue_.size();
        report.still_in_flight = in_flight_.size();
        for (const auto& e : queue_) pending_keys_.erase(e.svc_key());
        queue_.clear();
    }
    exit_ = true;
    lock.unlock();
    work_ready_.notify_all();
    if (report.abandoned_queued > 0) {
        std::lock_guard counters_lock(counters_mutex_);
        counters_.abandoned += report.abandoned_queued;
    }
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

std::chrono::steady_clock::duration PlannerAgent::oldest_in_flight_age() const {
    const auto now = steady_();
    std::lock_guard lock(mutex_);
    std::chrono::steady_clock::duration oldest{0};
    for (const auto& f : in_flight_) oldest = std::max(oldest, now - f.since);
    return oldest;
}

}  // namespace planner
