#include <catch2/catch.hpp>

#include <planner/executor_mapping.hpp>

using planner::map_action_to_executor_type;

TEST_CASE("mapping", "[mapping]") {
    struct Row {
        const char* action;
        const char* type;
        const char* risk;
    };
    auto row =
        GENERATE(Row{"restart", "container_restart", "low"}, Row{"redeploy", "redeploy", "guarded"},
                 Row{"notify", "notify", "low"}, Row{"ignore", "ignore", "none"},
                 Row{"unknown", "notify", "low"});  // safe fallback
    const auto [t, r] = map_action_to_executor_type(row.action);
    INFO(row.action);
    CHECK(t == row.type);
    CHECK(r == row.risk);
}

TEST_CASE("mapping is case sensitive and falls back safely", "[mapping]") {
    for (auto odd : {"RESTART", "", "restart ", "reboot", "rm -rf /"}) {
        INFO(odd);
        CHECK(map_action_to_executor_type(odd) == planner::ExecutorMapping{"notify", "low"});
        CHECK_FALSE(planner::is_known_action(odd));
    }
}

TEST_CASE("mapping is usable at compile time", "[mapping]") {
    static_assert(map_action_to_executor_type("redeploy").risk_level == "guarded");
    static_assert(planner::is_known_action("ignore"));
    SUCCEED("checked by static_assert");
}
