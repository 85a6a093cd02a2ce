#include <future>
#include <memory>
#include <thread>

#include <catch2/catch.hpp>

#include <planner/swappable_router.hpp>
#include <planner/testing.hpp>

using planner::RouteRequest;
using planner::RouteResult;
using planner::SwappableRouter;
using planner::testing::FakeRouter;

namespace {

RouteResult answer_from(const std::string& model) {
    RouteResult r = planner::testing::make_route_result();
    r.model_used = model;
    return r;
}

/// A router that always answers as `model`.
std::shared_ptr<FakeRouter> router_named(const std::string& model) {
    return std::make_shared<FakeRouter>(
        [model](const RouteRequest&) { return answer_from(model); });
}

}  // namespace

TEST_CASE("swap: the next request goes to the new router", "[swappable_router]") {
    auto first = router_named("first");
    auto second = router_named("second");
    SwappableRouter router(first);

    CHECK(router.route(std::vector<planner::ChatMessage>{}).model_used == "first");
    router.swap(second);
    CHECK(router.route(std::vector<planner::ChatMessage>{}).model_used == "second");
    CHECK(first->call_count() == 1);
    CHECK(second->call_count() == 1);
    CHECK(router.current() == second);
}

TEST_CASE("swap: a request already running finishes on the old router", "[swappable_router]") {
    std::promise<void> entered;
    std::promise<void> release;
    auto released = release.get_future().share();
    std::weak_ptr<planner::LLMRouter> watch;
    {
        auto slow = std::make_shared<FakeRouter>([&](const RouteRequest&) {
            entered.set_value();
            released.wait();
            return answer_from("old");
        });
        watch = slow;
        SwappableRouter router(std::move(slow));
        auto running = std::async(
            std::launch::async, [&] { return router.route(std::vector<planner::ChatMessage>{}); });
        entered.get_future().wait();

        router.swap(router_named("new"));
        CHECK(router.route(std::vector<planner::ChatMessage>{}).model_used == "new");
        // The old chain is still alive for the request that holds it.
        CHECK_FALSE(watch.expired());
        release.set_value();
        CHECK(running.get().model_used == "old");
        CHECK(watch.expired());
    }
}

TEST_CASE("swap: a null router is refused and the current one kept", "[swappable_router]") {
    auto only = router_named("only");
    CHECK_THROWS_AS(SwappableRouter(nullptr), std::invalid_argument);
    SwappableRouter router(only);
    CHECK_THROWS_AS(router.swap(nullptr), std::invalid_argument);
    CHECK(router.route(std::vector<planner::ChatMessage>{}).model_used == "only");
}
