#pragma once

/// The dependency the inhibition tests replay: on vps, vaultwarden depends on traefik, and a
/// failing traefik inhibits vaultwarden's events for 10 minutes. As planner.yaml text, so the
/// replay tests of test_inhibit.cpp and test_event_time.cpp load one picture through the real
/// configuration parser, and a change to that picture is made once.

#include <string>

namespace planner::testing {

/// planner.yaml lines for the vps topology and its 10 min inhibit window; a test adds its own
/// top-level settings (e.g. proposal_ttl) before or after.
inline const std::string kVpsInhibitYaml =
    "topology:\n"
    "  nodes:\n"
    "    vps:\n"
    "      services:\n"
    "        traefik: {}\n"
    "        vaultwarden: {depends_on: [traefik]}\n"
    "rules:\n"
    "  inhibit_window: 10m\n";

}  // namespace planner::testing
