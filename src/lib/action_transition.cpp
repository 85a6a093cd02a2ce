#include "action_transition.hpp"

#include "planner/detail/time.hpp"

namespace planner::detail {

nlohmann::json AuditRecord::to_json() const {
    return {{"at", at},
            {"action_id", action_id},
            {"node", node},
            {"service", service},
            {"from", planner::to_string(from)},
            {"to", planner::to_string(to)},
            {"by", by},
            {"note", note}};
}

std::string describe_state(const ActionFile& file, std::string_view id) {
    const ActionStatus s = file.status;
    const std::optional<std::string>* by = &file.decided_by;
    const std::optional<std::string>* at = &file.decided_at;
    if (s == ActionStatus::executing) {
        by = &file.started_by;
        at = &file.started_at;
    } else if (s == ActionStatus::succeeded || s == ActionStatus::failed) {
        by = &file.finished_by;
        at = &file.finished_at;
    } else if (s == ActionStatus::pending) {
        return std::string(id) + " is still pending";
    }
    std::string out = std::string(id) + " already " + std::string(planner::to_string(s));
    const std::string who = ActionFile::text(*by);
    const std::string when = ActionFile::text(*at);
    if (!who.empty()) out += " by " + who;
    if (!when.empty()) out += " at " + when;
    return out;
}

TransitionOutcome plan_transition(const ActionFile& current, std::string_view id,
                                  const RequestedMove& move,
                                  std::chrono::system_clock::time_point now,
                                  std::optional<std::chrono::system_clock::time_point> expiry) {
    using Kind = ActionStoreError::Kind;
    using Op = RequestedMove::Op;
    const ActionStatus from = current.status;
    const std::string now_text = format_iso8601_utc(now);
    const bool due = from == ActionStatus::pending && expiry && *expiry <= now;

    auto commit = [&](ActionStatus to, const std::string& by, const std::string& note) {
        TransitionOutcome out;
        ActionFile file = current;
        file.status = to;
        switch (to) {
            case ActionStatus::executing:
                file.started_by = by;
                file.started_at = now_text;
                break;
            case ActionStatus::succeeded:
            case ActionStatus::failed:
                file.finished_by = by;
                file.finished_at = now_text;
                file.result = note;
                break;
            default:
                file.decided_by = by;
                file.decided_at = now_text;
                file.decision_note = note;
                break;
        }
        out.audit = AuditRecord{now_text,
                                std::string(id),
                                ActionFile::text(file.node),
                                ActionFile::text(file.service),
                                from,
                                to,
                                by,
                                note};
        out.file = std::move(file);
        return out;
    };
    auto refuse = [](Kind kind, const std::string& why) {
        TransitionOutcome out;
        out.error.emplace(kind, why);
        return out;
    };
    // Only when `due`, so `expiry` is set: the proposal expires instead, and the asker hears.
    auto expire_instead = [&] {
        auto out =
            commit(ActionStatus::expired, "planner", "pending past " + format_iso8601_utc(*expiry));
        out.error.emplace(Kind::expired,
                          std::string(id) + " expired at " + format_iso8601_utc(*expiry));
        return out;
    };

    switch (move.op) {
        case Op::approve:
        case Op::reject:
            if (due) return expire_instead();
            if (from != ActionStatus::pending) {
                return refuse(from == ActionStatus::expired ? Kind::expired : Kind::conflict,
                              describe_state(current, id));
            }
            break;
        case Op::start:
            if (from == ActionStatus::pending) {
                if (due) return expire_instead();
                if (current.human_required()) {
                    return refuse(Kind::conflict,
                                  std::string(id) + " requires a human's approval first");
                }
            } else if (from != ActionStatus::approved) {
                return refuse(from == ActionStatus::expired ? Kind::expired : Kind::conflict,
                              describe_state(current, id));
            }
            break;
        case Op::finish:
            if (from != ActionStatus::executing) {
                return refuse(Kind::conflict,
                              from == ActionStatus::approved
                                  ? std::string(id) + " was approved but never started"
                                  : describe_state(current, id));
            }
            break;
        case Op::expire:
            if (from != ActionStatus::pending) {
                return refuse(Kind::conflict, describe_state(current, id));
            }
            if (!due) {
                return refuse(Kind::conflict,
                              std::string(id) + " does not expire until " +
                                  (expiry ? format_iso8601_utc(*expiry) : std::string("never")));
            }
            return commit(ActionStatus::expired, move.by,
                          "pending past " + format_iso8601_utc(*expiry));
    }
    return commit(move.to, move.by, move.note);
}

}  // namespace planner::detail
