#include <sstream>

#include <catch2/catch.hpp>

#include <planner/health_event.hpp>
#include <planner/testing.hpp>

using planner::testing::make_health_event;

TEST_CASE("svc_key", "[event]") {
    const auto e = make_health_event("piha", "mosquitto");
    CHECK(e.svc_key() == "piha/mosquitto");
}

TEST_CASE("str repr", "[event]") {
    const auto e = make_health_event("vps", "observer", "service_unhealthy", "error");
    const std::string s = planner::to_string(e);
    CHECK_THAT(s, Catch::Contains("service_unhealthy"));
    CHECK_THAT(s, Catch::Contains("vps/observer"));
    std::ostringstream os;
    os << e;
    CHECK(os.str() == s);
}

TEST_CASE("benign event types are skipped", "[event]") {
    for (auto t : {"service_healthy", "service_recovered", "node_online", "heartbeat",
                   "remediation_started", "remediation_completed", "remediation_failed"}) {
        INFO(t);
        CHECK(planner::is_benign_event_type(t));
    }
}

TEST_CASE("actionable event types are not benign", "[event]") {
    for (auto t : {"service_unhealthy", "service_stopped", "node_offline", "disk_pressure",
                   "memory_pressure", "", "remediation", "healthy"}) {
        INFO(t);
        CHECK_FALSE(planner::is_benign_event_type(t));
    }
}
