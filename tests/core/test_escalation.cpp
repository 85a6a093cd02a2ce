// Flap escalation's decision and history (include/planner/escalation.hpp): pure, with a
// ManualClock.

#include <chrono>

#include <catch2/catch.hpp>

#include "planner/escalation.hpp"
#include "planner/plan.hpp"
#include "planner/proposal.hpp"
#include "planner/testing.hpp"

using namespace planner;
using namespace planner::testing;
using namespace std::chrono_literals;

namespace {

PastProposal past(std::string action, std::string status, bool in_window = true,
                  std::string id = "a1") {
    return PastProposal{
        std::move(id), std::move(action), "2026-05-28T20:26:40Z", std::move(status), "", in_window};
}

const EscalationRules kThreeIn6h{3, 6h};

}  // namespace

TEST_CASE("escalation is off without rules.escalate, and never for ignore", "[escalation]") {
    const std::vector<PastProposal> earlier = {past("restart", "failed"),
                                               past("restart", "succeeded")};
    CHECK_FALSE(decide_escalation(EscalationRules{}, "piha/a", "redeploy", earlier).escalate);
    CHECK_FALSE(decide_escalation(kThreeIn6h, "piha/a", "ignore", earlier).escalate);
    CHECK_FALSE(decide_escalation(kThreeIn6h, "piha/a", "restart", {}).escalate);
}

TEST_CASE("the after-th proposal within the window escalates", "[escalation]") {
    const std::vector<PastProposal> one = {past("restart", "succeeded")};
    CHECK_FALSE(decide_escalation(kThreeIn6h, "piha/a", "restart", one).escalate);

    const std::vector<PastProposal> two = {past("restart", "succeeded"),
                                           past("restart", "rejected")};
    const auto d = decide_escalation(kThreeIn6h, "piha/a", "restart", two);
    CHECK(d.escalate);
    CHECK(d.reasons == std::vector<std::string>{"flapping"});
    CHECK(d.capped_to.empty());
    REQUIRE(d.corrections.size() == 1);
    CHECK(d.corrections[0] == "requires_human forced: escalated: 3 proposals for piha/a within 6h");

    // The newest kept past the window does not count towards `after`.
    const std::vector<PastProposal> old = {past("restart", "expired", false),
                                           past("restart", "succeeded")};
    CHECK_FALSE(decide_escalation(kThreeIn6h, "piha/a", "restart", old).escalate);
}

TEST_CASE("a failed previous proposal escalates, and caps the action at the failed one",
          "[escalation]") {
    SECTION("a failed restart: a redeploy is lowered to restart") {
        const std::vector<PastProposal> earlier = {past("restart", "failed", false, "r1")};
        const auto d = decide_escalation(kThreeIn6h, "piha/a", "redeploy", earlier);
        CHECK(d.escalate);
        CHECK(d.reasons == std::vector<std::string>{"failed", "capped"});
        CHECK(d.capped_to == "restart");
        REQUIRE(d.corrections.size() == 2);
        CHECK(d.corrections[0] ==
              "action 'redeploy' lowered to restart: restart already failed "
              "for piha/a (r1)");
        CHECK(d.corrections[1] ==
              "requires_human forced: escalated: the previous proposal for "
              "piha/a (restart) failed");
    }
    SECTION("a failed restart: restart again is allowed, with a human") {
        const auto d =
            decide_escalation(kThreeIn6h, "piha/a", "restart", {past("restart", "failed")});
        CHECK(d.escalate);
        CHECK(d.capped_to.empty());
        CHECK(d.reasons == std::vector<std::string>{"failed"});
    }
    SECTION("a failed notify: never lowered to ignore") {
        const auto d =
            decide_escalation(kThreeIn6h, "piha/a", "restart", {past("notify", "failed")});
        CHECK(d.capped_to == "notify");
    }
    SECTION("an older failure in the window still caps, and escalates") {
        const std::vector<PastProposal> earlier = {past("restart", "failed"),
                                                   past("notify", "succeeded")};
        const auto d = decide_escalation(EscalationRules{5, 6h}, "piha/a", "redeploy", earlier);
        CHECK(d.escalate);
        CHECK(d.reasons == std::vector<std::string>{"capped"});
        CHECK(d.capped_to == "restart");
        CHECK(d.corrections.back() ==
              "requires_human forced: escalated: restart already failed for piha/a");
    }
    SECTION("the gentlest failure is the cap") {
        const std::vector<PastProposal> earlier = {past("redeploy", "failed"),
                                                   past("restart", "failed")};
        CHECK(decide_escalation(kThreeIn6h, "piha/a", "redeploy", earlier).capped_to == "restart");
    }
    SECTION("a failed redeploy caps nothing below it, but the failure still escalates") {
        const auto d = decide_escalation(EscalationRules{9, 6h}, "piha/a", "restart",
                                         {past("redeploy", "failed")});
        CHECK(d.escalate);
        CHECK(d.capped_to.empty());
    }
}

TEST_CASE("an outcome comes from the action file as stored now", "[escalation]") {
    PastProposal p = past("restart", "");
    p.read_outcome(nlohmann::json{{"status", "failed"},
                                  {"decided_at", "2026-05-28T20:30:00Z"},
                                  {"finished_at", "2026-05-28T20:31:00Z"}});
    CHECK(p.status == "failed");
    CHECK(p.resolved_at == "2026-05-28T20:31:00Z");
    CHECK(p.to_json() == nlohmann::json{{"action_id", "a1"},
                                        {"action", "restart"},
                                        {"timestamp", "2026-05-28T20:26:40Z"},
                                        {"status", "failed"},
                                        {"resolved_at", "2026-05-28T20:31:00Z"}});
    p.read_outcome(std::nullopt);
    CHECK(p.status == "unknown");
    p.read_outcome(nlohmann::json{{"status", 7}});
    CHECK(p.status == "unknown");
    CHECK_FALSE(p.to_json().contains("resolved_at"));
}

TEST_CASE("the history keeps the window and the newest, on the injected clock", "[escalation]") {
    ManualClock clock;
    EscalationHistory h(clock.steady_source(), clock.wall_source());
    h.record("piha/a", "a1", "restart", "t1", 6h);
    clock.advance(1h);
    h.record("piha/a", "a2", "redeploy", "t2", 6h);
    h.record("piha/b", "b1", "notify", "t3", 6h);
    auto e = h.earlier("piha/a", 6h);
    REQUIRE(e.size() == 2);
    CHECK(e[0].action_id == "a1");
    CHECK(e[1].action == "redeploy");
    CHECK(e[1].in_window);
    CHECK(h.earlier("piha/a", 6h, "a2").size() == 1);  // the pending one itself left out

    clock.advance(5h + 1s);  // a1 is out of the window, a2 still in
    e = h.earlier("piha/a", 6h);
    REQUIRE(e.size() == 1);
    CHECK(e[0].action_id == "a2");

    clock.advance(2h);  // both out: the newest stays, not in the window
    e = h.earlier("piha/a", 6h);
    REQUIRE(e.size() == 1);
    CHECK(e[0].action_id == "a2");
    CHECK_FALSE(e[0].in_window);
    CHECK(h.earlier("vps/x", 6h).empty());
}

TEST_CASE("the history is bounded per service", "[escalation]") {
    ManualClock clock;
    EscalationHistory h(clock.steady_source(), clock.wall_source());
    for (std::size_t i = 0; i < EscalationHistory::kMaxPerKey + 10; ++i) {
        h.record("piha/a", "a" + std::to_string(i), "restart", "t", 6h);
        clock.advance(1s);
    }
    const auto e = h.earlier("piha/a", 6h);
    CHECK(e.size() == EscalationHistory::kMaxPerKey);
    CHECK(e.back().action_id == "a" + std::to_string(EscalationHistory::kMaxPerKey + 9));
}

TEST_CASE("seeding from action files: wall timestamps, the window and the newest", "[escalation]") {
    ManualClock clock;
    EscalationHistory h(clock.steady_source(), clock.wall_source());
    const auto file = [&](std::string id, std::string service, std::chrono::hours ago,
                          std::string action = "restart") {
        return nlohmann::json{{"action_id", std::move(id)},
                              {"node", "piha"},
                              {"service", std::move(service)},
                              {"timestamp", format_utc_timestamp(clock.wall_now() - ago)},
                              {"status", "succeeded"},
                              {"payload", {{"action", std::move(action)}}}};
    };
    const std::vector<nlohmann::json> docs = {
        file("old", "a", 30h),  file("a1", "a", 5h),
        file("a2", "a", 1h),    file("b-old", "b", 20h),
        file("bad", "", 1h),    nlohmann::json{{"action_id", "x"}, {"node", "piha"}},
        nlohmann::json("junk"), file("weird", "c", 1h, "")};
    // The seed takes what the store read: typed files; no status, or no object, is none.
    std::vector<ActionFile> files;
    for (const auto& doc : docs) {
        if (auto parsed = ActionFile::from_json(doc); parsed.file) files.push_back(*parsed.file);
    }
    CHECK(files.size() == docs.size() - 2);
    CHECK(h.seed_from_actions(files, 6h) == 3);
    auto a = h.earlier("piha/a", 6h);
    REQUIRE(a.size() == 2);
    CHECK(a[0].action_id == "a1");
    CHECK(a[0].timestamp == format_utc_timestamp(clock.wall_now() - 5h));
    auto b = h.earlier("piha/b", 6h);  // only the newest, kept past the window
    REQUIRE(b.size() == 1);
    CHECK_FALSE(b[0].in_window);
    // The window runs on the injected clock from the seeded ages.
    clock.advance(1h + 1s);
    a = h.earlier("piha/a", 6h);
    REQUIRE(a.size() == 1);
    CHECK(a[0].action_id == "a2");
}

TEST_CASE("an action file reads back as the proposal it describes", "[escalation]") {
    // What the plan step writes: make_proposal from a model's answer, with a correction.
    auto p = make_proposal(make_health_event("piha", "a"), make_route_result("restart", "a"));
    p.action_id = "id1";
    p.policy_corrections = {"x"};
    p.created_at = std::chrono::system_clock::time_point{std::chrono::seconds{1'780'000'000}};
    p.expires_at = p.created_at + 1h;
    p.escalated = true;
    p.history = nlohmann::json::array({{{"action_id", "id0"}}});
    const auto file = p.to_action_file();
    CHECK(file["escalated"] == true);
    CHECK(file["history"][0]["action_id"] == "id0");
    CHECK(proposal_from_action_file(file).to_action_file() == file);

    ActionProposal plain;
    CHECK_FALSE(plain.to_action_file().contains("escalated"));
    CHECK_FALSE(plain.to_action_file().contains("history"));
    // Hostile types read as defaults, never throw.
    const auto odd = proposal_from_action_file(
        {{"requires_human", "no"}, {"escalated", 1}, {"payload", 3}, {"history", "x"}});
    CHECK(odd.requires_human);
    CHECK_FALSE(odd.escalated);
    CHECK(odd.action.empty());
}

TEST_CASE("a pending proposal escalates once its occurrences reach after, and only once",
          "[escalation][pending]") {
    EscalationRules rules;
    // Off without rules.escalate, whatever the count.
    CHECK_FALSE(decide_pending_escalation(rules, 100, false));
    rules.after = 3;
    CHECK_FALSE(decide_pending_escalation(rules, 0, false));  // nothing recorded
    CHECK_FALSE(decide_pending_escalation(rules, 2, false));
    CHECK(decide_pending_escalation(rules, 3, false));
    // Past the threshold (a reload lowered `after`, or the first attempt lost a race): still.
    CHECK(decide_pending_escalation(rules, 7, false));
    // People hear about it once.
    CHECK_FALSE(decide_pending_escalation(rules, 3, true));
    CHECK_FALSE(decide_pending_escalation(rules, 7, true));
    CHECK(pending_escalation_words(3) ==
          "requires_human forced: escalated: seen 3 times while pending");
}
