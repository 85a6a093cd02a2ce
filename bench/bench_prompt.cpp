/// Figure 5: the cost of building one prompt and validating one answer, so regressions show.
///
/// Each operation runs in batches; the figure is the median batch's time per call, which a
/// neighbour's compile on a shared machine disturbs less than the mean.

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <planner/log.hpp>
#include <planner/planner.hpp>

#include "bench_common.hpp"

namespace {

/// A typical node-agent event: a few payload fields, as the seed samples have.
const char* const kEventText = R"({"node": "piha", "service": "mosquitto",
    "type": "service_unhealthy", "severity": "error", "timestamp": 1780000000,
    "payload": {"container": "mosquitto", "exit_code": 137, "restarts": 3,
                "message": "healthcheck failed 3 times: connection refused on :1883"}})";

/// Runs `op` `batches` x `per_batch` times; returns the median batch's nanoseconds per call.
double median_ns_per_call(long batches, long per_batch, const std::function<void()>& op) {
    std::vector<double> per_call;
    per_call.reserve(static_cast<std::size_t>(batches));
    for (long b = 0; b < batches; ++b) {
        const auto start = bench::now_ns();
        for (long i = 0; i < per_batch; ++i) op();
        per_call.push_back(static_cast<double>(bench::now_ns() - start) /
                           static_cast<double>(per_batch));
    }
    return bench::percentile(per_call, 50);
}

/// A configured homelab of `nodes` x `per_node` services, shaped like a real one: each service
/// depends on the one before it on its node, the first of every other node on the last service
/// of node0 (a shared DNS or proxy, so that one has a dependent on every node), and one service
/// in ten has per-service allowed actions.
struct Homelab {
    planner::PromptOptions options;
    planner::HouseRules rules;
};

Homelab make_homelab(int nodes, int per_node) {
    Homelab lab;
    lab.options.topology.nodes.clear();
    lab.rules.human_only_service_patterns = {"*/vault*"};
    for (int n = 0; n < nodes; ++n) {
        planner::NodeDescription node{
            "node" + std::to_string(n),
            "mini PC in the rack, Debian 12, docker compose, number " + std::to_string(n)};
        for (int i = 0; i < per_node; ++i) {
            planner::ServiceDescription svc{"service-" + std::to_string(i)};
            if (i > 0) svc.depends_on.push_back("service-" + std::to_string(i - 1));
            if (i == 0 && n > 0) {
                svc.depends_on.push_back("node0/service-" + std::to_string(per_node - 1));
            }
            if ((n * per_node + i) % 10 == 0) {
                lab.rules.allowed_actions[node.name + "/" + svc.name] = {"restart", "notify"};
            }
            node.services.push_back(std::move(svc));
        }
        lab.options.topology.nodes.push_back(std::move(node));
    }
    return lab;
}

/// Prompt bytes per event (system + user message) for an event on every service of a
/// configured homelab, and whether the system message is byte-identical for all of them (it
/// is what a local server caches between requests). Target: at most 2 KiB per event.
void prompt_economy(bench::Report& report, int nodes, int per_node, const char* event_text) {
    const Homelab lab = make_homelab(nodes, per_node);
    const std::string label =
        std::to_string(nodes) + " nodes/" + std::to_string(nodes * per_node) + " services";
    auto raw = nlohmann::json::parse(event_text);
    std::string first_system;
    bool identical = true;
    std::size_t total = 0, largest = 0, events = 0;
    for (const auto& node : lab.options.topology.nodes) {
        for (const auto& svc : node.services) {
            raw["node"] = node.name;
            raw["service"] = svc.name;
            const auto event = planner::try_parse_event(raw, "health_events", 1.78e9).event.value();
            // The four-argument form builds the system message anew for each event.
            const auto messages = planner::build_messages(event, lab.rules, lab.options);
            if (events == 0) first_system = messages[0].content;
            identical = identical && messages[0].content == first_system;
            const std::size_t bytes = messages[0].content.size() + messages[1].content.size();
            total += bytes;
            largest = std::max(largest, bytes);
            ++events;
        }
    }
    report.figure(label + ": system message (every event)",
                  static_cast<double>(first_system.size()), "bytes");
    report.figure(label + ": prompt bytes per event, mean",
                  static_cast<double>(total) / static_cast<double>(events), "bytes",
                  bench::Target::at_most(2048));
    report.figure(label + ": prompt bytes per event, max", static_cast<double>(largest), "bytes",
                  bench::Target::at_most(2048));
    report.check(
        label + ": system message byte-identical across " + std::to_string(events) + " events",
        identical);
}

}  // namespace

int main(int argc, char** argv) try {
    bench::Args args(argc, argv);
    const long iterations = args.number("--iterations", 20'000);
    args.finish();
    const long per_batch = 100;
    const long batches = std::max(1L, iterations / per_batch);

    const auto raw = nlohmann::json::parse(kEventText);
    const auto event = planner::try_parse_event(raw, "health_events", 1.78e9).event.value();
    const nlohmann::json answer = {
        {"action", "restart"}, {"service", "mosquitto"},
        {"node", "piha"},      {"reason", "the container is unhealthy; a restart clears it"},
        {"confidence", 0.9},   {"requires_human", false}};
    nlohmann::json bad_answer = answer;
    bad_answer["confidence"] = 1.7;
    bad_answer["action"] = "reboot";

    // Warm up the lazily built schema and validator so the first batch is not an outlier.
    (void)planner::validate_proposal(answer);

    // Something the compiler cannot prove unused, so no call is optimised away.
    std::size_t sink = 0;
    bench::Report report("prompt");

    report.figure(
        "parse_event (text -> HealthEvent)",
        median_ns_per_call(
            batches, per_batch,
            [&] {
                const auto j = nlohmann::json::parse(kEventText);
                sink +=
                    planner::try_parse_event(j, "health_events", 1.78e9).event.value().node.size();
            }) /
            1000.0,
        "us");
    report.figure(
        "build_messages",
        median_ns_per_call(batches, per_batch,
                           [&] { sink += planner::build_messages(event)[1].content.size(); }) /
            1000.0,
        "us");
    // What the agent does: the system prompt is built once per agent and reused.
    const planner::PromptOptions prompt_options;
    const std::string system_prompt = planner::build_system_prompt({}, prompt_options);
    report.figure(
        "build_messages (system prompt built once)",
        median_ns_per_call(
            batches, per_batch,
            [&] {
                sink +=
                    planner::build_messages(event, prompt_options, system_prompt)[1].content.size();
            }) /
            1000.0,
        "us");
    report.figure("validate_proposal (valid)",
                  median_ns_per_call(batches, per_batch,
                                     [&] { sink += planner::validate_proposal(answer).size(); }) /
                      1000.0,
                  "us");
    report.figure(
        "validate_proposal (2 errors)",
        median_ns_per_call(batches, per_batch,
                           [&] { sink += planner::validate_proposal(bad_answer).size(); }) /
            1000.0,
        "us");
    report.figure("build_messages + validate_proposal",
                  median_ns_per_call(batches, per_batch,
                                     [&] {
                                         sink += planner::build_messages(event)[1].content.size();
                                         sink += planner::validate_proposal(answer).size();
                                     }) /
                      1000.0,
                  "us");
    report.figure("make_proposal + to_action_file().dump()",
                  median_ns_per_call(
                      batches, per_batch,
                      [&] {
                          planner::RouteResult r;
                          r.content = answer;
                          r.model_used = "bench";
                          sink += planner::make_proposal(event, r).to_action_file().dump().size();
                      }) /
                      1000.0,
                  "us");
    {
        // What the agent spends per suppressed event on a debug line that planner-run, at its
        // default info level, never prints: the fields are built and the rate limiter counts
        // the line before the level filter drops it.
        std::FILE* devnull = std::fopen("/dev/null", "w");
        planner::JsonLinesLogSink base(devnull, planner::LogLevel::info);
        planner::RateLimitedLogSink log(base);
        const std::string key = event.svc_key();
        report.figure("filtered debug log line (skip_benign)",
                      median_ns_per_call(batches, per_batch,
                                         [&] {
                                             log.log(planner::LogLevel::debug, "skip_benign",
                                                     {{"key", key}, {"type", event.event_type}});
                                         }) /
                          1000.0,
                      "us");
        std::fclose(devnull);
    }
    {
        // A 200-service homelab (20 nodes x 10 services, each depending on the one before it
        // and a few across nodes): only the event's node and neighbours reach the prompt.
        planner::PromptOptions big;
        big.topology.nodes.clear();
        planner::HouseRules rules;
        std::size_t whole = 0;  // bytes of every service line, were the whole homelab sent
        for (int n = 0; n < 20; ++n) {
            planner::NodeDescription node{"node" + std::to_string(n),
                                          "a machine of the homelab, number " + std::to_string(n)};
            for (int i = 0; i < 10; ++i) {
                planner::ServiceDescription svc{"service-" + std::to_string(i)};
                if (i > 0) svc.depends_on.push_back("service-" + std::to_string(i - 1));
                if (i == 0 && n > 0) svc.depends_on.push_back("node0/service-9");
                // What listing this service would cost: "- node/service (depends on: ...)".
                whole += 4 + node.name.size() + svc.name.size();
                for (const auto& d : svc.depends_on) whole += 2 + d.size() + 16;
                node.services.push_back(std::move(svc));
            }
            whole += node.name.size() + node.description.size() + 5;
            big.topology.nodes.push_back(std::move(node));
        }
        rules.allowed_actions["node3/service-4"] = {"notify", "ignore"};
        planner::HealthEvent busy = event;
        busy.node = "node0";
        busy.service = "service-9";
        planner::HealthEvent quiet = event;
        quiet.node = "node3";
        quiet.service = "service-4";
        const std::string big_system = planner::build_system_prompt(rules, big);
        report.figure("200 services: system prompt (same for every event)",
                      static_cast<double>(big_system.size()), "bytes");
        report.figure("200 services: user prompt, service with 21 neighbours",
                      static_cast<double>(
                          planner::build_messages(busy, rules, big, big_system)[1].content.size()),
                      "bytes");
        report.figure("200 services: user prompt, service with 2 neighbours",
                      static_cast<double>(
                          planner::build_messages(quiet, rules, big, big_system)[1].content.size()),
                      "bytes");
        report.figure("200 services: the whole homelab as text, were it all sent",
                      static_cast<double>(whole), "bytes");
        report.figure(
            "200 services: build_messages (system prompt built once)",
            median_ns_per_call(
                batches, per_batch,
                [&] {
                    sink += planner::build_messages(busy, rules, big, big_system)[1].content.size();
                }) /
                1000.0,
            "us");
    }
    prompt_economy(report, 5, 8, kEventText);
    prompt_economy(report, 50, 4, kEventText);
    report.figure("calls per figure", static_cast<double>(batches * per_batch), "calls");
    report.print_table();
    std::fprintf(stderr, "(checksum %zu)\n", sink);
    return report.exit_code();
} catch (const std::exception& e) {
    std::fprintf(stderr, "bench_prompt: %s\n", e.what());
    return 2;
}
