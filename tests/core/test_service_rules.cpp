#include <catch2/catch.hpp>

#include <planner/messages.hpp>
#include <planner/policy.hpp>

#include <planner/testing.hpp>

using planner::ActionProposal;
using planner::apply_policy;
using planner::HouseRules;
using planner::testing::make_health_event;

namespace {

ActionProposal answer(std::string action, bool requires_human = false) {
    return testing::a_proposal()
        .action(std::move(action))
        .node("k3s-a")
        .service("vaultwarden")
        .reason("the model ignores the rules")
        .confidence(0.95)
        .requires_human(requires_human);
}

HouseRules vault_rules() {
    HouseRules rules;
    rules.human_only_node_patterns = {"nas*"};
    rules.human_only_service_patterns = {"*/vaultwarden"};
    rules.allowed_actions["k3s-a/vaultwarden"] = {"ignore", "notify"};
    return rules;
}

/// A homelab of `nodes` nodes with `per_node` services each; service i depends on i-1.
planner::Topology big_topology(int nodes, int per_node) {
    planner::Topology t;
    t.nodes.clear();
    for (int n = 0; n < nodes; ++n) {
        planner::NodeDescription node{"node" + std::to_string(n),
                                      "machine number " + std::to_string(n)};
        for (int s = 0; s < per_node; ++s) {
            planner::ServiceDescription svc{"svc" + std::to_string(s)};
            if (s > 0) svc.depends_on.push_back("svc" + std::to_string(s - 1));
            node.services.push_back(std::move(svc));
        }
        t.nodes.push_back(std::move(node));
    }
    // One dependency across nodes: node1/svc0 needs node0/svc3.
    t.nodes[1].services[0].depends_on.push_back("node0/svc3");
    return t;
}

}  // namespace

TEST_CASE("an action outside allowed_actions becomes the most conservative allowed one",
          "[policy]") {
    const auto rules = vault_rules();
    auto p = answer("restart");
    apply_policy(p, make_health_event("k3s-a", "vaultwarden"), rules);
    CHECK(p.action == "notify");
    CHECK(p.type == "notify");
    REQUIRE_FALSE(p.policy_corrections.empty());
    CHECK_THAT(p.policy_corrections[0],
               Catch::Contains("'restart' replaced by notify") &&
                   Catch::Contains("k3s-a/vaultwarden' allows only ignore, notify"));

    auto allowed = answer("ignore");
    apply_policy(allowed, make_health_event("k3s-a", "vaultwarden"), rules);
    CHECK(allowed.action == "ignore");

    HouseRules restart_only;
    restart_only.allowed_actions["k3s-a/vaultwarden"] = {"redeploy", "restart"};
    auto r = answer("ignore");
    apply_policy(r, make_health_event("k3s-a", "vaultwarden"), restart_only);
    CHECK(r.action == "restart");  // notify, ignore, restart, redeploy: first one allowed
}

TEST_CASE("allowed_actions is per service, exact", "[policy]") {
    const auto rules = vault_rules();
    auto p = answer("restart");
    p.node = "k3s-b";
    apply_policy(p, make_health_event("k3s-b", "vaultwarden"), rules);
    CHECK(p.action == "restart");
}

TEST_CASE("notify-only event types win over allowed_actions", "[policy]") {
    HouseRules rules;
    rules.allowed_actions["k3s-a/vaultwarden"] = {"restart"};
    auto p = answer("restart");
    apply_policy(p, make_health_event("k3s-a", "vaultwarden", "disk_pressure"), rules);
    CHECK(p.action == "notify");
}

TEST_CASE("human-only services need a human whatever the model says", "[policy]") {
    const auto rules = vault_rules();
    auto p = answer("ignore");
    apply_policy(p, make_health_event("k3s-a", "vaultwarden"), rules);
    CHECK(p.requires_human);
    CHECK_THAT(p.policy_corrections.back(),
               Catch::Contains("service 'k3s-a/vaultwarden' always needs a human"));

    auto other = answer("restart");
    other.service = "traefik";
    apply_policy(other, make_health_event("k3s-a", "traefik"), rules);
    CHECK_FALSE(other.requires_human);
}

TEST_CASE("the prompt tells the per-service rules that apply_policy enforces", "[messages]") {
    const auto rules = vault_rules();
    planner::PromptOptions options;
    options.topology.nodes = {{"k3s-a", "k3s server", {{"traefik"}, {"vaultwarden", {"traefik"}}}}};
    const auto user =
        planner::build_messages(make_health_event("k3s-a", "vaultwarden"), rules, options)[1]
            .content;
    CHECK_THAT(user,
               Catch::Contains("Allowed actions for this service (enforced): ignore, notify"));
    CHECK_THAT(user, Catch::Contains("matches '*/vaultwarden', which always needs a human"));
    CHECK_THAT(user, Catch::Contains("This service depends on: k3s-a/traefik"));
    const auto traefik =
        planner::build_messages(make_health_event("k3s-a", "traefik"), rules, options)[1].content;
    CHECK_THAT(traefik, Catch::Contains("Depend on this service: k3s-a/vaultwarden"));
    CHECK_THAT(traefik, !Catch::Contains("Allowed actions"));
    CHECK_THAT(traefik, !Catch::Contains("always needs a human"));
}

TEST_CASE("the prompt names only the event's node and its neighbours", "[messages]") {
    const auto topology = big_topology(20, 10);  // 200 services
    planner::PromptOptions options;
    options.topology = topology;
    const HouseRules rules;
    const auto msgs = planner::build_messages(make_health_event("node0", "svc3"), rules, options);
    const auto& user = msgs[1].content;
    CHECK_THAT(user, Catch::Contains("This node: node0: machine number 0"));
    CHECK_THAT(user, Catch::Contains("This service depends on: node0/svc2"));
    CHECK_THAT(user, Catch::Contains("Depend on this service: node0/svc4, node1/svc0"));
    CHECK_THAT(user, !Catch::Contains("node2/"));
    CHECK_THAT(user, !Catch::Contains("machine number 2"));
    // The system message is the same for every event: a local server reuses its KV cache.
    const auto other = planner::build_messages(make_health_event("node7", "svc9"), rules, options);
    CHECK(other[0].content == msgs[0].content);
    CHECK(other[1].content != msgs[1].content);
    // And no service of the homelab is in it.
    CHECK_THAT(msgs[0].content, !Catch::Contains("svc"));
}

TEST_CASE("an event the configuration does not know gets no context block", "[messages]") {
    planner::PromptOptions options;
    options.topology = big_topology(2, 3);
    const auto user =
        planner::build_messages(make_health_event("elsewhere", "x"), HouseRules{}, options)[1]
            .content;
    CHECK(user == planner::build_user_prompt(make_health_event("elsewhere", "x"), options));
}

namespace {

/// `nodes` nodes of four services shaped like the benchmark's homelab: node descriptions of
/// about 60 bytes, and the first service of every other node depends on node0/svc3 (a shared
/// DNS or proxy), so node0/svc3 has `nodes - 1` dependents.
planner::Topology hub_topology(int nodes) {
    planner::Topology t = big_topology(nodes, 4);
    for (auto& node : t.nodes) {
        node.description = "mini PC in the rack, Debian 12, docker compose, " + node.description;
    }
    for (int n = 1; n < nodes; ++n) {
        t.nodes[static_cast<std::size_t>(n)].services[0].depends_on = {"node0/svc3"};
    }
    return t;
}

std::string user_message(const planner::Topology& topology, const std::string& node,
                         const std::string& service, std::size_t max_names = 10) {
    planner::PromptOptions options;
    options.topology = topology;
    options.max_listed_names = max_names;
    return planner::build_messages(make_health_event(node, service), HouseRules{}, options)[1]
        .content;
}

}  // namespace

TEST_CASE("a shared service names ten of its dependents and counts the rest", "[messages]") {
    const auto user = user_message(hub_topology(50), "node0", "svc3");
    CHECK_THAT(user,
               Catch::Contains("- Depend on this service: node1/svc0, node2/svc0, node3/svc0, "
                               "node4/svc0, node5/svc0, node6/svc0, node7/svc0, node8/svc0, "
                               "node9/svc0, node10/svc0 and 39 more\n"));
    CHECK_THAT(user, !Catch::Contains("node11/"));
    CHECK_THAT(user, !Catch::Contains("node49/"));
    // A list at the cap is not cut.
    const auto at_cap = user_message(hub_topology(11), "node0", "svc3");
    CHECK_THAT(at_cap, Catch::Contains("node9/svc0, node10/svc0\n"));
    CHECK_THAT(at_cap, !Catch::Contains(" more"));
    // The cap is an option.
    CHECK_THAT(user_message(hub_topology(50), "node0", "svc3", 2),
               Catch::Contains("- Depend on this service: node1/svc0, node2/svc0 and 47 more\n"));
}

TEST_CASE("every list of the context is capped: services of the node and dependencies",
          "[messages]") {
    planner::Topology t = big_topology(2, 30);  // big_topology wants a second node
    auto& own = t.nodes[0].services[29];
    for (int i = 0; i < 14; ++i) own.depends_on.push_back("other" + std::to_string(i) + "/x");
    const auto user = user_message(t, "node0", "svc29");
    CHECK_THAT(user, Catch::Contains("- Its services: svc0, svc1, svc2, svc3, svc4, svc5, svc6, "
                                     "svc7, svc8, svc9 and 20 more\n"));
    CHECK_THAT(user, Catch::Contains("- This service depends on: node0/svc28, other0/x, other1/x, "
                                     "other2/x, other3/x, other4/x, other5/x, other6/x, other7/x, "
                                     "other8/x and 5 more\n"));
}

TEST_CASE(
    "the prompt stays under 2 KiB for every event of a 200-service homelab, and the "
    "context does not grow with the homelab",
    "[messages]") {
    const auto topology = hub_topology(50);
    planner::PromptOptions options;
    options.topology = topology;
    const HouseRules rules;
    const auto first = planner::build_messages(make_health_event("node0", "svc0"), rules, options);
    std::size_t largest = 0;
    for (const auto& node : topology.nodes) {
        for (const auto& svc : node.services) {
            const auto msgs =
                planner::build_messages(make_health_event(node.name, svc.name), rules, options);
            CHECK(msgs[0].content == first[0].content);  // the system part, byte-identical
            largest = std::max(largest, msgs[0].content.size() + msgs[1].content.size());
        }
    }
    CHECK(largest <= 2048);
    // Ten times the nodes: the hub's context gains only the digits of its count.
    const auto hub50 = user_message(hub_topology(50), "node0", "svc3");
    const auto hub500 = user_message(hub_topology(500), "node0", "svc3");
    CHECK_THAT(hub500, Catch::Contains("node10/svc0 and 489 more\n"));
    CHECK(hub500.size() == hub50.size() + 1);
}
