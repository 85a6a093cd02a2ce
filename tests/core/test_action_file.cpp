// ActionFile: one reader and one writer of the action file, byte-compatible with the files
// today's code writes (ActionProposal::to_action_file and the store's rewrites).

#include <catch2/catch.hpp>

#include "planner/action_file.hpp"
#include "planner/detail/json_limits.hpp"
#include "planner/proposal.hpp"
#include "planner/testing.hpp"

using namespace planner;
using nlohmann::json;

namespace {

ActionProposal proposal() {
    return testing::a_proposal()
        .id("plan-1")
        .service("grafana")
        .reason("unhealthy")
        .confidence(0.85)
        .requires_human(false)
        .model("qwen", 2)
        .expires_in(std::chrono::hours{24})
        .correction("budget used up");
}

std::string text(const json& j) {
    return detail::dump_lenient(j, 2) + "\n";
}

void round_trips(const json& doc) {
    const auto parsed = ActionFile::from_json(doc);
    REQUIRE(parsed.file);
    CHECK(parsed.error.empty());
    CHECK(text(parsed.file->to_json()) == text(doc));
}

}  // namespace

TEST_CASE("files written today read back byte for byte", "[action_file]") {
    auto doc = proposal().to_action_file();
    round_trips(doc);
    // As the store rewrites it: occurrences, escalation, affected, then each transition.
    doc["occurrences"] = 3;
    doc["last_seen"] = "2026-05-28T20:30:00.000Z";
    doc["escalated"] = true;
    doc["escalated_at"] = "2026-05-28T20:31:00.000Z";
    doc["history"] = json::array({{{"action_id", "p0"}, {"status", "failed"}}});
    doc["affected"] = json::array({"piha/loki", "piha/tempo"});
    round_trips(doc);
    doc["status"] = "approved";
    doc["decided_by"] = "alice";
    doc["decided_at"] = "2026-05-28T20:32:00.000Z";
    doc["decision_note"] = "";
    round_trips(doc);
    doc["status"] = "failed";
    doc["started_by"] = "executor";
    doc["started_at"] = "2026-05-28T20:33:00.000Z";
    doc["finished_by"] = "executor";
    doc["finished_at"] = "2026-05-28T20:34:00.000Z";
    doc["result"] = "no such container";
    round_trips(doc);
    ActionProposal plain;
    round_trips(plain.to_action_file());
}

TEST_CASE("keys the planner does not know ride along", "[action_file]") {
    auto doc = proposal().to_action_file();
    doc["executor_ticket"] = {{"id", 7}};
    doc["payload"]["dry_run"] = true;
    const auto parsed = ActionFile::from_json(doc);
    REQUIRE(parsed.file);
    CHECK(parsed.file->extra["executor_ticket"]["id"] == 7);
    CHECK(parsed.file->payload->extra["dry_run"] == true);
    CHECK(parsed.file->to_json() == doc);
}

TEST_CASE("typed fields say what the file says", "[action_file]") {
    const auto parsed = ActionFile::from_json(proposal().to_action_file());
    REQUIRE(parsed.file);
    const ActionFile& f = *parsed.file;
    CHECK(f.status == ActionStatus::pending);
    CHECK(f.key() == "piha/grafana");
    CHECK(f.action() == "restart");
    CHECK_FALSE(f.human_required());
    CHECK(f.times_seen() == 1);
    CHECK(ActionFile::time_of(f.expires_at) == proposal().expires_at);
    CHECK_FALSE(f.occurrences);  // absent stays absent
    CHECK_FALSE(f.to_json().contains("occurrences"));
}

TEST_CASE("what is wrong is said in one line", "[action_file]") {
    const auto error = [](const json& doc) {
        const auto parsed = ActionFile::from_json(doc);
        CHECK_FALSE(parsed.file);
        CHECK(parsed.error.find('\n') == std::string::npos);
        return parsed.error;
    };
    CHECK(error(json::array()) == "an action file is a JSON object");
    CHECK(error({{"node", "piha"}}) == "\"status\" is missing");
    CHECK(error({{"status", "done"}}).starts_with("\"status\" is not one of pending"));
    CHECK(error({{"status", "pending"}, {"node", 5}}) == "\"node\" is not a string");
    CHECK(error({{"status", "pending"}, {"requires_human", "no"}}) ==
          "\"requires_human\" is not true or false");
    CHECK(error({{"status", "pending"}, {"occurrences", 1.5}}) ==
          "\"occurrences\" is not an integer");
    CHECK(error({{"status", "pending"}, {"payload", {{"action", 1}}}}) ==
          "\"payload.action\" is not a string");
    CHECK(error({{"status", "pending"}, {"affected", {"a", 1}}}) ==
          "\"affected\" is not an array of strings");
    CHECK(error({{"status", "pending"}, {"history", "x"}}) == "\"history\" is not an array");
}

TEST_CASE("statuses by name", "[action_file]") {
    for (const auto s : {ActionStatus::pending, ActionStatus::approved, ActionStatus::rejected,
                         ActionStatus::expired, ActionStatus::executing, ActionStatus::succeeded,
                         ActionStatus::failed}) {
        CHECK(parse_action_status(to_string(s)) == s);
    }
    CHECK_FALSE(parse_action_status("done"));
}
