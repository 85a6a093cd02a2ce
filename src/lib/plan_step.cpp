#include <exception>

#include "agent_detail.hpp"
#include "planner/plan.hpp"
#include "planner/schema.hpp"

namespace planner::detail {

PlanStep::PlanStep(const PlannerAgentOptions& options, LLMRouter& router, ActionSink& actions,
                   EventSink& events, LogSink& log, CooldownTracker& cooldown,
                   CounterBoard& counters, WallTimeSource wall, PendingProposals* pending,
                   RemediationBudget* budget, EscalationHistory* escalation,
                   SharedReservations* shared)
    : options_(options),
      guidance_(std::make_shared<const Guidance>(Guidance{
          options.rules, options.prompt, build_system_prompt(options.rules, options.prompt)})),
      router_(router),
      actions_(actions),
      events_(events),
      log_(log),
      cooldown_(cooldown),
      counters_(counters),
      wall_(std::move(wall)),
      pending_(pending),
      budget_(budget),
      escalation_(escalation),
      shared_(shared) {}

std::shared_ptr<const PlanStep::Guidance> PlanStep::guidance() const {
    std::lock_guard lock(guidance_mutex_);
    return guidance_;
}

void PlanStep::reconfigure(HouseRules rules, PromptOptions prompt) {
    auto next = std::make_shared<const Guidance>(
        Guidance{rules, prompt, build_system_prompt(rules, prompt)});
    std::lock_guard lock(guidance_mutex_);
    guidance_ = std::move(next);
}

HandleResult PlanStep::run(const HealthEvent& event, const std::atomic<bool>& abandoned) {
    try {
        return plan(event, abandoned);
    } catch (const std::exception& e) {
        // Only a bug gets here (the sinks' and router's failures are handled in plan).
        counters_.add(&PlannerCounters::chain_failures);
        log_.log(LogLevel::error, "plan_failed", {{"key", event.svc_key()}, {"error", e.what()}});
        return HandleResult::chain_failed;
    } catch (...) {
        counters_.add(&PlannerCounters::chain_failures);
        log_.log(LogLevel::error, "plan_failed",
                 {{"key", event.svc_key()}, {"error", "unknown exception"}});
        return HandleResult::chain_failed;
    }
}

bool PlanStep::apply_budget(ActionProposal& p, const RemediationBudgetLimits& limits,
                            const std::string& key) {
    if (budget_ == nullptr || p.requires_human || !limits.enabled()) return false;
    const auto decision = budget_->take(p.node, limits);
    if (decision.allowed) return true;
    p.requires_human = true;
    p.policy_corrections.push_back(decision.correction);
    counters_.add(&PlannerCounters::budget_forced_human);
    log_.log(LogLevel::warn, "budget_used_up",
             {{"key", key},
              {"action_id", p.action_id},
              {"action", p.action},
              {"scope", decision.scope},
              {"limit", decision.limit},
              {"window_s", limits.window.count()}});
    return false;
}

std::vector<PastProposal> past_proposals(const EscalationHistory& history, PendingProposals* store,
                                         const std::string& key, std::chrono::seconds window,
                                         std::string_view except) {
    auto earlier = history.earlier(key, window, except);
    for (auto& e : earlier) {
        e.read_outcome(store != nullptr ? store->action_file(e.action_id) : std::nullopt);
    }
    return earlier;
}

EscalationDecision PlanStep::apply_escalation(ActionProposal& p, const EscalationRules& rules,
                                              const std::string& key) {
    if (escalation_ == nullptr || !rules.enabled() || p.action == "ignore") return {};
    auto earlier = past_proposals(*escalation_, pending_, key, rules.window);
    auto decision = decide_escalation(rules, key, p.action, earlier);
    if (!decision.escalate) return decision;
    if (!decision.capped_to.empty()) {
        p.action = decision.capped_to;
        const auto [type, risk] = map_action_to_executor_type(p.action);
        p.type = std::string(type);
        p.risk_level = std::string(risk);
    }
    p.requires_human = true;
    for (const auto& c : decision.corrections) p.policy_corrections.push_back(c);
    p.escalated = true;
    p.history = history_json(earlier);
    return decision;
}

void PlanStep::follow_up(const FollowUp& f) noexcept {
    if (pending_ == nullptr) return;
    try {
        switch (f.kind) {
            case FollowUp::Kind::occurrence:
                // Counted on the proposal a person is looking at, after the decision was made.
                if (const auto seen = pending_->note_occurrence(f.target, f.when)) {
                    escalate_pending(f.key, f.target, seen);
                }
                break;
            case FollowUp::Kind::affected: {
                // Listed on the root cause's proposal: now if it is pending, else when it is
                // written (the plan step lists the incident's symptoms then).
                const auto slash = f.target.find('/');
                if (const auto id =
                        pending_->find_pending(std::string_view(f.target).substr(0, slash),
                                               std::string_view(f.target).substr(slash + 1))) {
                    pending_->note_affected(*id, {f.key});
                }
                break;
            }
        }
    } catch (const std::exception& e) {
        log_.log(LogLevel::error, "follow_up_failed", {{"key", f.key}, {"error", e.what()}});
    } catch (...) {
        log_.log(LogLevel::error, "follow_up_failed",
                 {{"key", f.key}, {"error", "unknown exception"}});
    }
}

void PlanStep::escalate_pending(const std::string& key, const std::string& action_id,
                                const PendingOccurrence& seen) {
    const auto rules = guidance()->rules.escalate;
    if (escalation_ == nullptr ||
        !decide_pending_escalation(rules, seen.occurrences, seen.escalated)) {
        return;
    }
    const auto earlier = past_proposals(*escalation_, pending_, key, rules.window, action_id);
    const auto file = pending_->escalate_pending(action_id, pending_escalation_words(rules.after),
                                                 history_json(earlier));
    if (!file) return;
    counters_.add(&PlannerCounters::escalated_pending);
    const auto proposal = proposal_from_action_file(*file);
    log_.log(LogLevel::warn, "proposal_escalated",
             {{"key", key},
              {"action_id", action_id},
              {"action", proposal.action},
              {"reasons", nlohmann::json::array({"occurrences"})},
              {"after", rules.after},
              {"window_s", rules.window.count()},
              {"history", earlier.size()}});
    try {
        actions_.escalated(proposal);
    } catch (const std::exception& e) {
        log_.log(LogLevel::error, "escalation_notify_failed",
                 {{"key", key}, {"action_id", action_id}, {"error", e.what()}});
    }
}

void PlanStep::start_cooldown(const std::string& key) {
    cooldown_.record(key);
    // Replicas: the shared cooldown starts as soon as the decision holds (for a proposal, once
    // its file is durable, before anything else), so the window in which a crash could let
    // another replica propose again is one round trip to Redis (docs/scaling.md).
    if (auto* shared = shared_; shared != nullptr) {
        try {
            shared->planned(
                key, std::chrono::duration_cast<std::chrono::milliseconds>(cooldown_.cooldown()));
        } catch (const std::exception& e) {
            log_.log(LogLevel::warn, "shared_reservation_failed",
                     {{"key", key}, {"error", e.what()}});
        }
    }
}

std::string PlanStep::next_action_id(const HealthEvent& event,
                                     std::chrono::system_clock::time_point created_at) {
    return make_action_id(event, created_at, sequence_.fetch_add(1) + 1);
}

std::string PlanStep::write_new(const HealthEvent& event, ActionProposal& p,
                                nlohmann::json& summary) {
    // The sequence is unique within this process only: a planner restarted within the same
    // second (or a second planner on the same directory) counts from 1 again. The sink refuses
    // an id it holds already, so the earlier proposal's file survives and this one takes the
    // next number: proposal, file name and remediation_started keep one id.
    for (int tries = 1;; ++tries) {
        try {
            return actions_.write(p);
        } catch (const ActionIdTaken&) {
            if (tries >= kActionIdTries) throw;
            const std::string taken = p.action_id;
            p.action_id = next_action_id(event, p.created_at);
            summary["action_id"] = p.action_id;
            log_.log(LogLevel::warn, "action_id_taken",
                     {{"key", event.svc_key()}, {"action_id", taken}, {"next", p.action_id}});
        }
    }
}

HandleResult PlanStep::plan(const HealthEvent& event, const std::atomic<bool>& abandoned) {
    const std::string key = event.svc_key();
    const auto guide = guidance();  // this event's rules, even if a reload swaps them meanwhile
    counters_.add(&PlannerCounters::routed);
    RouteResult result;
    try {
        result = router_.route(
            RouteRequest{build_messages(event, guide->rules, guide->prompt, guide->system_prompt),
                         proposal_schema(), &event});
    } catch (const RouteError& e) {
        counters_.attempts(e.attempts());
        counters_.add(&PlannerCounters::chain_failures);
        log_.log(LogLevel::warn, "chain_failed",
                 {{"key", key}, {"error", e.what()}, {"attempts", e.attempts()}});
        return HandleResult::chain_failed;
    } catch (const std::exception& e) {
        counters_.add(&PlannerCounters::chain_failures);
        log_.log(LogLevel::warn, "chain_failed", {{"key", key}, {"error", e.what()}});
        return HandleResult::chain_failed;
    } catch (...) {
        counters_.add(&PlannerCounters::chain_failures);
        log_.log(LogLevel::warn, "chain_failed", {{"key", key}, {"error", "unknown exception"}});
        return HandleResult::chain_failed;
    }

    counters_.attempts(result.attempts);
    ActionProposal p = make_proposal(event, result, guide->rules);
    p.created_at = wall_();
    if (options_.proposal_ttl.count() > 0) p.expires_at = p.created_at + options_.proposal_ttl;
    p.action_id = next_action_id(event, p.created_at);
    // Symptoms inhibited while this root cause was being planned (docs/safety.md).
    if (incidents_ != nullptr) p.affected = incidents_->symptoms_of(key);
    // After the house rules, before anything is written: escalation may lower the action and
    // force a human, and the budget sees the final verdict.
    const auto escalation = apply_escalation(p, guide->rules.escalate, key);
    const bool took_budget = p.action != "ignore" && apply_budget(p, guide->rules.budget, key);
    counters_.proposal(p.action);
    // Key by key: an initializer list builds a two-element array per key first.
    nlohmann::json summary = nlohmann::json::object();
    summary["action_id"] = p.action_id;
    summary["key"] = key;
    summary["action"] = p.action;
    summary["type"] = p.type;
    summary["risk_level"] = p.risk_level;
    summary["requires_human"] = p.requires_human;
    summary["confidence"] = p.confidence;
    summary["model"] = p.llm_model;
    summary["attempts"] = p.llm_attempts;
    summary["policy_corrections"] = p.policy_corrections;
    if (p.escalated) summary["escalated"] = true;
    // A fallback must say why: without the failed attempts, "model": "rules" after a dead GPU
    // box or a revoked key looks the same as a chain configured with rules alone.
    for (const auto& a : result.attempts) {
        if (a.status != AttemptStatus::success) summary["failed_attempts"].push_back(a);
    }
    if (p.action == "ignore") {
        start_cooldown(key);
        log_.log(LogLevel::info, "proposal_ignored", summary);
        return HandleResult::ignored;
    }
    if (abandoned.load()) {
        if (took_budget) budget_->give_back(p.node);
        counters_.add(&PlannerCounters::abandoned);
        log_.log(LogLevel::warn, "proposal_abandoned", summary);
        return HandleResult::abandoned;
    }

    std::string where;
    try {
        where = write_new(event, p, summary);
    } catch (const std::exception& e) {
        if (took_budget) budget_->give_back(p.node);
        counters_.add(&PlannerCounters::write_failures);
        auto fields = summary;
        fields["error"] = e.what();
        log_.log(LogLevel::error, "write_failed", fields);
        return HandleResult::write_failed;
    }
    // The action exists from here on, so the cooldown holds whatever fails next (a retry
    // would duplicate it).
    start_cooldown(key);
    summary["path"] = where;  // the last use of the summary: no copy
    log_.log(LogLevel::info, "proposal_written", summary);
    if (escalation_ != nullptr) {
        escalation_->record(key, p.action_id, p.action, detail::format_iso8601_utc(p.created_at),
                            guide->rules.escalate.window);
    }
    if (escalation.escalate) {
        counters_.add(&PlannerCounters::escalated);
        nlohmann::json fields = {{"key", key},
                                 {"action_id", p.action_id},
                                 {"action", p.action},
                                 {"reasons", escalation.reasons},
                                 {"after", guide->rules.escalate.after},
                                 {"window_s", guide->rules.escalate.window.count()},
                                 {"history", p.history.size()}};
        if (!escalation.capped_to.empty()) fields["capped_to"] = escalation.capped_to;
        log_.log(LogLevel::warn, "proposal_escalated", fields);
    }
    // Before the key is released (the caller does that after run returns), so the next event for
    // it finds this proposal pending.
    if (pending_ != nullptr) {
        pending_->added(p);
        // Symptoms inhibited between the list above and `added` found no pending proposal to
        // join: append them now (the agent appends the ones that come later).
        if (incidents_ != nullptr) {
            const auto late = incidents_->symptoms_of(key);
            if (late.size() > p.affected.size()) pending_->note_affected(p.action_id, late);
        }
    }

    PlannerEvent started;
    started.type = "remediation_started";
    started.severity = "info";
    started.service = event.service;
    started.correlation_id = p.action_id;
    // docs/formats.md: the action, where it runs, and the file the executor will pick up.
    auto& payload = started.payload = nlohmann::json::object();
    payload["action"] = p.action;
    payload["target_node"] = p.node;
    payload["action_file"] = p.action_id + ".json";
    payload["action_id"] = p.action_id;
    payload["risk_level"] = p.risk_level;
    payload["requires_human"] = p.requires_human;
    try {
        events_.emit(started);
    } catch (const std::exception& e) {
        // The action exists, so the cooldown still applies (started above).
        counters_.add(&PlannerCounters::emit_failures);
        log_.log(LogLevel::error, "emit_failed",
                 {{"action_id", p.action_id}, {"key", key}, {"error", e.what()}});
    }
    return HandleResult::proposed;
}

}  // namespace planner::detail
