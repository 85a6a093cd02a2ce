#pragma once

/// \file
/// The homelab as the model is told about it: nodes, their services and what those depend on.
/// The configuration file fills it, the prompt builder and the incident tracker read it.

#include <string>
#include <string_view>
#include <vector>

#include "planner/policy.hpp"

namespace planner {

/// One service of a node. Its allowed actions are a house rule (HouseRules::allowed_actions),
/// kept there so the rule told and the rule enforced are one piece of data.
struct ServiceDescription {
    std::string name;
    /// What it needs running: `service` on the same node, or `node/service` elsewhere.
    std::vector<std::string> depends_on{};
};

/// One machine of the homelab as the model should picture it.
struct NodeDescription {
    std::string name;
    std::string description;
    std::vector<ServiceDescription> services{};
};

/// The homelab the model is told about. Replace it to describe your own (examples/planner.yaml
/// holds these defaults as a configuration file). Node names and descriptions go into the
/// system prompt, identical for every event; services and dependencies only into the user
/// message of an event that concerns them (build_event_context).
struct Topology {
    std::vector<NodeDescription> nodes{
        {"piha", "Raspberry Pi home hub: mosquitto (MQTT), home-assistant, zigbee2mqtt"},
        {"solaria", "GPU workstation: ollama, planner-agent, executor, heavy containers"},
        {"vps", "public cloud VPS: observer, reverse proxy, uptime checks"},
        {"chelsty-infra",
         "infrastructure at a second site, reached over VPN: a human must "
         "approve every action there"},
    };
};

/// `depends_on` entry → `node/service` key: a bare name is a service of the same node.
inline std::string resolve_dependency(std::string_view node, std::string_view entry) {
    return entry.find('/') == std::string_view::npos ? service_key(node, entry)
                                                     : std::string(entry);
}

}  // namespace planner
