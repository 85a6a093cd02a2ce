#pragma once

// Messages that look benign or in cooldown (node piha, a heartbeat, or piha/mosquitto) but that
// the full parse refuses: intake must count each as malformed, never as skipped
// (tests/service/test_agent.cpp), and the peek's two passes must agree on each
// (tests/core/test_event_peek.cpp).

#include <string>
#include <vector>

namespace planner::testing {

inline std::vector<std::string> suppressed_but_malformed_messages() {
    const std::string too_long(300, 'n');
    return {
        R"({"node":"piha","type":"heartbeat","payload":5})",
        R"({"node":"piha","type":"heartbeat","payload":[]})",
        R"({"node":"piha","type":"heartbeat","timestamp":true})",
        R"({"node":"piha","type":"heartbeat","timestamp":{}})",
        R"({"node":"piha","type":"heartbeat","service":7})",
        R"({"node":"piha","type":"heartbeat","severity":["x"]})",
        R"({"node":7,"type":"heartbeat"})",
        R"({"type":"heartbeat"})",
        R"({"node":"","type":"heartbeat"})",
        R"({"node":"piha","type":"","event_type":5})",
        R"({"node":"piha","node":5,"type":"heartbeat"})",
        R"({"node":"piha","type":"heartbeat"} x)",
        R"({"node":"piha","type":"heartbeat")",
        R"({"node":")" + too_long + R"(","type":"heartbeat"})",
        R"({"node":"piha","service":"mosquitto","type":"service_unhealthy","payload":1})",
        R"({"node":"piha","service":"mosquitto","type":"x","timestamp":false})",
        R"([{"node":"piha","type":"heartbeat"}])",
    };
}

}  // namespace planner::testing
