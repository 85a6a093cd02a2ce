// RemediationBudget: per-node and homelab limits over a sliding window, with a ManualClock.

#include <atomic>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "planner/action_file.hpp"
#include "planner/policy.hpp"
#include "planner/remediation_budget.hpp"

using namespace planner;
using namespace std::chrono_literals;

TEST_CASE("a node's budget is used up, then slides back", "[budget]") {
    ManualClock clock;
    RemediationBudget budget(clock.steady_source(), clock.wall_source());
    const RemediationBudgetLimits limits{3, 0, 1h};
    CHECK(budget.take("piha", limits).allowed);
    clock.advance(20min);
    CHECK(budget.take("piha", limits).allowed);
    CHECK(budget.take("piha", limits).allowed);
    const auto refused = budget.take("piha", limits);
    CHECK_FALSE(refused.allowed);
    CHECK(refused.scope == "node");
    CHECK(refused.limit == 3);
    CHECK(refused.correction ==
          "requires_human forced: automatic budget of 3 per hour on piha used up");
    CHECK(budget.take("solaria", limits).allowed);  // another node has its own
    CHECK(budget.used(1h, "piha") == 3);            // a refusal takes nothing

    clock.advance(40min - 1s);  // the first is 1s short of an hour old
    CHECK_FALSE(budget.take("piha", limits).allowed);
    clock.advance(1s);
    CHECK(budget.take("piha", limits).allowed);
    CHECK_FALSE(budget.take("piha", limits).allowed);
}

TEST_CASE("the homelab's budget counts every node", "[budget]") {
    ManualClock clock;
    RemediationBudget budget(clock.steady_source(), clock.wall_source());
    const RemediationBudgetLimits limits{0, 2, 30min};
    CHECK(budget.take("piha", limits).allowed);
    CHECK(budget.take("solaria", limits).allowed);
    const auto refused = budget.take("vps", limits);
    CHECK_FALSE(refused.allowed);
    CHECK(refused.scope == "homelab");
    CHECK(refused.correction ==
          "requires_human forced: automatic budget of 2 per 30m for the homelab used up");
    budget.give_back("solaria");  // its proposal was never written
    CHECK(budget.take("vps", limits).allowed);
}

TEST_CASE("no limits: every take is allowed and nothing is kept", "[budget]") {
    ManualClock clock;
    RemediationBudget budget(clock.steady_source(), clock.wall_source());
    for (int i = 0; i < 100; ++i) CHECK(budget.take("piha", {}).allowed);
    CHECK(budget.used(1h) == 0);
    CHECK_FALSE(HouseRules{}.budget.enabled());
    CHECK(detail::window_words(24h) == "day");
    CHECK(detail::window_words(2h) == "2h");
    CHECK(detail::window_words(90s) == "90s");
}

TEST_CASE("a budget is rebuilt from the action files of the last window", "[budget]") {
    ManualClock clock;
    RemediationBudget budget(clock.steady_source(), clock.wall_source());
    const auto at = [&](std::chrono::seconds ago) {
        return format_utc_timestamp(clock.wall_now() - ago);
    };
    const std::vector<nlohmann::json> docs = {
        {{"node", "piha"}, {"requires_human", false}, {"timestamp", at(10min)}},
        {{"node", "piha"}, {"requires_human", false}, {"timestamp", at(50min)}},
        {{"node", "piha"}, {"requires_human", true}, {"timestamp", at(5min)}},     // a human's
        {{"node", "piha"}, {"requires_human", false}, {"timestamp", at(2h)}},      // too old
        {{"node", "piha"}, {"requires_human", "false"}, {"timestamp", at(1min)}},  // not a bool
        {{"node", 7}, {"requires_human", false}, {"timestamp", at(1min)}},
        {{"node", "piha"}, {"requires_human", false}, {"timestamp", "yesterday"}},
        nlohmann::json::array(),
    };
    // The seed takes what the store read: typed files. Hostile types never get that far.
    std::vector<ActionFile> files;
    std::size_t rejected = 0;
    for (auto doc : docs) {
        if (doc.is_object()) doc["status"] = "succeeded";
        auto parsed = ActionFile::from_json(doc);
        if (parsed.file) {
            files.push_back(std::move(*parsed.file));
        } else {
            ++rejected;
        }
    }
    CHECK(rejected == 3);  // "false", 7, and an array
    CHECK(budget.seed_from_actions(files, 1h) == 2);
    const RemediationBudgetLimits limits{3, 0, 1h};
    CHECK(budget.take("piha", limits).allowed);
    CHECK_FALSE(budget.take("piha", limits).allowed);
    // The 50-minute-old one leaves the window after 10 more minutes.
    clock.advance(10min);
    CHECK(budget.take("piha", limits).allowed);
}

TEST_CASE("concurrent takes never exceed the limit", "[budget]") {
    ManualClock clock;
    RemediationBudget budget(clock.steady_source(), clock.wall_source());
    const RemediationBudgetLimits limits{0, 50, 1h};
    std::atomic<int> allowed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 100; ++i) {
                if (budget.take("node" + std::to_string(t), limits).allowed) ++allowed;
            }
        });
    }
    for (auto& t : threads) t.join();
    CHECK(allowed == 50);
    CHECK(budget.used(1h) == 50);
}
