// The approval state machine without files: which moves are allowed, what the file and the
// audit line say afterwards.

#include <catch2/catch.hpp>

#include "action_transition.hpp"
#include "planner/proposal.hpp"
#include "planner/testing.hpp"

using namespace planner;
using namespace planner::detail;
using namespace std::chrono_literals;
using Op = RequestedMove::Op;

namespace {

const auto kNow = std::chrono::system_clock::time_point{std::chrono::seconds{1'780'000'000}};

ActionFile pending(bool requires_human = true) {
    const ActionProposal p = testing::a_proposal()
                                 .id("a1")
                                 .service("grafana")
                                 .requires_human(requires_human)
                                 .created_at(kNow - 1h);
    return *ActionFile::from_json(p.to_action_file()).file;
}

}  // namespace

TEST_CASE("approve a pending proposal: the file and the audit line", "[transition]") {
    const auto out = plan_transition(
        pending(), "a1", {Op::approve, ActionStatus::approved, "alice", "ok"}, kNow, kNow + 1h);
    REQUIRE(out.file);
    CHECK_FALSE(out.error);
    CHECK(out.file->status == ActionStatus::approved);
    CHECK(out.file->decided_by == "alice");
    CHECK(out.file->decision_note == "ok");
    CHECK(out.file->decided_at == format_iso8601_utc(kNow));
    REQUIRE(out.audit);
    CHECK(out.audit->to_json() == nlohmann::json{{"at", format_iso8601_utc(kNow)},
                                                 {"action_id", "a1"},
                                                 {"node", "piha"},
                                                 {"service", "grafana"},
                                                 {"from", "pending"},
                                                 {"to", "approved"},
                                                 {"by", "alice"},
                                                 {"note", "ok"}});
}

TEST_CASE("a decided proposal is a conflict naming who decided it", "[transition]") {
    auto file = pending();
    file.status = ActionStatus::rejected;
    file.decided_by = "bob";
    file.decided_at = "T";
    const auto out =
        plan_transition(file, "a1", {Op::approve, ActionStatus::approved, "alice", ""}, kNow, {});
    CHECK_FALSE(out.file);
    REQUIRE(out.error);
    CHECK(out.error->kind() == ActionStoreError::Kind::conflict);
    CHECK(std::string(out.error->what()) == "a1 already rejected by bob at T");
}

TEST_CASE("approving past the expiry expires it instead, and says so", "[transition]") {
    const auto out = plan_transition(
        pending(), "a1", {Op::approve, ActionStatus::approved, "alice", ""}, kNow, kNow - 1s);
    REQUIRE(out.file);
    CHECK(out.file->status == ActionStatus::expired);
    CHECK(out.file->decided_by == "planner");
    REQUIRE(out.error);
    CHECK(out.error->kind() == ActionStoreError::Kind::expired);
}

TEST_CASE("start needs an approval unless no human is required", "[transition]") {
    const auto refused =
        plan_transition(pending(), "a1", {Op::start, ActionStatus::executing, "x", ""}, kNow, {});
    REQUIRE(refused.error);
    CHECK(std::string(refused.error->what()) == "a1 requires a human's approval first");
    const auto ok = plan_transition(pending(false), "a1",
                                    {Op::start, ActionStatus::executing, "x", ""}, kNow, {});
    REQUIRE(ok.file);
    CHECK(ok.file->status == ActionStatus::executing);
    CHECK(ok.file->started_by == "x");
}

TEST_CASE("finish only from executing and expire only when due", "[transition]") {
    auto approved = pending();
    approved.status = ActionStatus::approved;
    const auto never =
        plan_transition(approved, "a1", {Op::finish, ActionStatus::succeeded, "x", ""}, kNow, {});
    REQUIRE(never.error);
    CHECK(std::string(never.error->what()) == "a1 was approved but never started");
    const auto early = plan_transition(
        pending(), "a1", {Op::expire, ActionStatus::expired, "planner", ""}, kNow, kNow + 1h);
    REQUIRE(early.error);
    CHECK(early.error->kind() == ActionStoreError::Kind::conflict);
    const auto due = plan_transition(
        pending(), "a1", {Op::expire, ActionStatus::expired, "planner", ""}, kNow, kNow);
    REQUIRE(due.file);
    CHECK(due.file->status == ActionStatus::expired);
    CHECK(due.file->decision_note == "pending past " + format_iso8601_utc(kNow));
}
