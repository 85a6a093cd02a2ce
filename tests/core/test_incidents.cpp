// IncidentTracker: open incidents and the dependency graph behind dependency-aware suppression.

#include <chrono>

#include <catch2/catch.hpp>

#include "planner/clock.hpp"
#include "planner/incidents.hpp"

using namespace planner;
using namespace std::chrono_literals;

namespace {

/// vaultwarden → traefik → docker on vps; home-assistant → mosquitto on piha; gitea on vps
/// depends on piha's mosquitto (across nodes).
Topology chain_topology() {
    Topology t;
    t.nodes = {
        {"vps",
         "cloud",
         {{"docker"},
          {"traefik", {"docker"}},
          {"vaultwarden", {"traefik"}},
          {"gitea", {"piha/mosquitto"}}}},
        {"piha", "hub", {{"mosquitto"}, {"home-assistant", {"mosquitto"}}}},
    };
    return t;
}

}  // namespace

TEST_CASE("a dependency's incident inhibits its dependents for the window", "[inhibit]") {
    ManualClock clock;
    IncidentTracker incidents(chain_topology(), 10min);
    CHECK_FALSE(incidents.open_root_for("vps/vaultwarden", clock.steady_now()));

    incidents.record("vps/traefik", false, clock.steady_now());
    CHECK(incidents.open_root_for("vps/vaultwarden", clock.steady_now()) == "vps/traefik");
    // The root itself, what it depends on and unrelated services are not inhibited.
    CHECK_FALSE(incidents.open_root_for("vps/traefik", clock.steady_now()));
    CHECK_FALSE(incidents.open_root_for("vps/docker", clock.steady_now()));
    CHECK_FALSE(incidents.open_root_for("piha/home-assistant", clock.steady_now()));

    clock.advance(10min - 1s);
    CHECK(incidents.open_root_for("vps/vaultwarden", clock.steady_now()) == "vps/traefik");
    clock.advance(1s);
    CHECK_FALSE(incidents.open_root_for("vps/vaultwarden", clock.steady_now()));

    // A new event for the root opens it again.
    incidents.record("vps/traefik", false, clock.steady_now());
    CHECK(incidents.open_root_for("vps/vaultwarden", clock.steady_now()) == "vps/traefik");
}

TEST_CASE("inhibition is transitive and crosses nodes", "[inhibit]") {
    ManualClock clock;
    IncidentTracker incidents(chain_topology(), 10min);
    incidents.record("vps/docker", false, clock.steady_now());
    CHECK(incidents.open_root_for("vps/traefik", clock.steady_now()) == "vps/docker");
    CHECK(incidents.open_root_for("vps/vaultwarden", clock.steady_now()) == "vps/docker");
    CHECK(incidents.dependencies_of("vps/vaultwarden") ==
          std::vector<std::string>{"vps/traefik", "vps/docker"});

    incidents.record("piha/mosquitto", false, clock.steady_now());
    CHECK(incidents.open_root_for("vps/gitea", clock.steady_now()) == "piha/mosquitto");
    CHECK(incidents.open_root_for("piha/home-assistant", clock.steady_now()) == "piha/mosquitto");
}

TEST_CASE("a node_offline event inhibits every service on its node", "[inhibit]") {
    ManualClock clock;
    IncidentTracker incidents(chain_topology(), 10min);
    CHECK(is_node_down_event_type("node_offline"));
    CHECK(is_node_down_event_type("node_unreachable"));
    CHECK_FALSE(is_node_down_event_type("service_unhealthy"));

    incidents.record("piha/host", true, clock.steady_now());
    CHECK(incidents.open_root_for("piha/mosquitto", clock.steady_now()) == "piha/host");
    CHECK(incidents.open_root_for("piha/zigbee2mqtt", clock.steady_now()) == "piha/host");
    // A service elsewhere that depends on a service of the node is a symptom too.
    CHECK(incidents.open_root_for("vps/gitea", clock.steady_now()) == "piha/host");
    // The node-level event's own key is planned as usual; other nodes are untouched.
    CHECK_FALSE(incidents.open_root_for("piha/host", clock.steady_now()));
    CHECK_FALSE(incidents.open_root_for("vps/traefik", clock.steady_now()));

    clock.advance(10min);
    CHECK_FALSE(incidents.open_root_for("piha/mosquitto", clock.steady_now()));
}

TEST_CASE("unknown keys cost nothing and a zero window disables inhibition", "[inhibit]") {
    ManualClock clock;
    IncidentTracker incidents(chain_topology(), 10min);
    incidents.record("elsewhere/x", true, clock.steady_now());       // node not in the topology
    incidents.record("vps/vaultwarden", false, clock.steady_now());  // nothing depends on it
    CHECK_FALSE(incidents.open_root_for("elsewhere/y", clock.steady_now()));
    CHECK_FALSE(incidents.open_root_for("vps/vaultwarden", clock.steady_now()));

    IncidentTracker off(chain_topology(), 0ms);
    off.record("vps/traefik", false, clock.steady_now());
    CHECK_FALSE(off.open_root_for("vps/vaultwarden", clock.steady_now()));
    CHECK(off.dependencies_of("vps/vaultwarden").empty());

    // A reload with a zero window turns it off; one with a window turns it back on.
    incidents.record("vps/traefik", false, clock.steady_now());
    incidents.reconfigure(chain_topology(), 0ms);
    CHECK_FALSE(incidents.open_root_for("vps/vaultwarden", clock.steady_now()));
    incidents.reconfigure(chain_topology(), 10min);
    CHECK(incidents.open_root_for("vps/vaultwarden", clock.steady_now()) == "vps/traefik");
}

TEST_CASE("an incident's symptoms are listed once each, bounded, and start afresh with the next",
          "[inhibit][affected]") {
    ManualClock clock;
    IncidentTracker incidents(chain_topology(), 10min);
    incidents.record("vps/traefik", false, clock.steady_now());
    CHECK(incidents.symptoms_of("vps/traefik").empty());
    CHECK(incidents.note_symptom("vps/traefik", "vps/vaultwarden"));
    CHECK_FALSE(incidents.note_symptom("vps/traefik", "vps/vaultwarden"));  // once
    CHECK(incidents.note_symptom("vps/traefik", "vps/x"));
    CHECK(incidents.symptoms_of("vps/traefik") ==
          std::vector<std::string>{"vps/vaultwarden", "vps/x"});
    CHECK(incidents.symptoms_of("vps/docker").empty());

    // A node going down with hundreds of containers lists the first kMaxAffected.
    for (int i = 0; i < 300; ++i)
        incidents.note_symptom("vps/traefik", "vps/s" + std::to_string(i));
    CHECK(incidents.symptoms_of("vps/traefik").size() == ActionProposal::kMaxAffected);
    CHECK(incidents.symptoms_of("vps/traefik")[0] == "vps/vaultwarden");

    // Another event within the window is the same incident; one after it closed is a new one.
    clock.advance(5min);
    incidents.record("vps/traefik", false, clock.steady_now());
    CHECK(incidents.symptoms_of("vps/traefik").size() == ActionProposal::kMaxAffected);
    clock.advance(10min);
    incidents.record("vps/traefik", false, clock.steady_now());
    CHECK(incidents.symptoms_of("vps/traefik").empty());
}
