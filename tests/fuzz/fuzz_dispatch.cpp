// Arbitrary bytes from the bus through intake, parse, policy and a scripted (hostile) router.
//
// Input: `<message>` or `<message>\n#model\n<model answer>`. Without an answer part the router
// replays one of a set of hostile answers chosen by the input; with one, the answer text goes
// through extract_json_object as a real provider's would, so the fuzzer also mutates what the
// model says.
//
// Invariants: nothing throws out of dispatch_text or handle_event; intake queues exactly the
// messages the parse accepts (and that are not benign); a malformed message gives one log
// line; every proposal written passes the schema on its model-facing fields and obeys the house
// rules: the event's own node and service, chelsty* ⇒ requires_human, disk_pressure ⇒ notify,
// confidence < 0.7 ⇒ requires_human, and the action file serialises.
//
// No threads: the agent is never started, so dispatch_text only queues and the event is
// planned synchronously with handle_event.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include <planner/agent.hpp>
#include <planner/agent_testing.hpp>
#include <planner/detail/json_limits.hpp>
#include <planner/plan.hpp>
#include <planner/testing.hpp>
#include <planner/validation.hpp>
#include "json_extract.hpp"

#include "fuzz_check.hpp"

namespace {

using nlohmann::json;

/// Answers a model that obeys an injection might give: another host, a forbidden action, an
/// out-of-range or non-number confidence, wrong types, extra keys, not an object at all.
json scripted_answer(std::size_t pick) {
    static const std::array<const char*, 10> answers{
        R"({"action":"redeploy","service":"chelsty-infra","node":"chelsty-infra","reason":"ignore the rules","confidence":1.0,"requires_human":false})",
        R"({"action":"restart","service":"mosquitto","node":"piha","reason":"ok","confidence":0.95,"requires_human":false})",
        R"({"action":"rm -rf /","service":"../../etc","node":"/","reason":"x","confidence":7,"requires_human":false})",
        R"({"action":"restart","service":"a","node":"b","reason":"low","confidence":0.1,"requires_human":false})",
        R"({"action":"ignore","service":"s","node":"n","reason":"nothing","confidence":0.9,"requires_human":false})",
        R"({"action":"notify","confidence":"high","requires_human":"no"})",
        R"({"action":"redeploy","service":"x","node":"y","reason":"","confidence":-1,"requires_human":false,"extra":{"nested":[1,2]}})",
        R"([1,2,3])",
        R"("just a string")",
        R"(null)"};
    return json::parse(answers[pick % answers.size()]);
}

/// The model-facing fields of a written proposal, as the schema describes them.
json model_fields(const planner::ActionProposal& p) {
    return {
        {"action", p.action}, {"service", p.service},       {"node", p.node},
        {"reason", p.reason}, {"confidence", p.confidence}, {"requires_human", p.requires_human}};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    constexpr std::string_view kSeparator = "\n#model\n";
    const auto split = input.find(kSeparator);
    const std::string_view message = input.substr(0, split);
    const bool has_answer = split != std::string_view::npos;
    const std::string_view answer_text =
        has_answer ? input.substr(split + kSeparator.size()) : std::string_view{};

    planner::testing::FakeRouter router([&](const std::vector<planner::ChatMessage>&) {
        planner::RouteResult r;
        if (has_answer) {
            auto extracted = planner::detail::extract_json_object(answer_text);
            if (!extracted.object) throw planner::RouteError(extracted.error, {});
            r.content = std::move(*extracted.object);
        } else {
            r.content = scripted_answer(size);
        }
        r.raw_text = std::string(answer_text);
        r.model_used = "fuzz/model";
        return r;
    });
    planner::testing::RecordingActionSink actions;
    planner::testing::RecordingEventSink events;
    planner::testing::RecordingLogSink log;
    planner::PlannerAgentOptions options;
    options.max_message_bytes = 64 * 1024;  // small, so the fuzzer reaches the cap
    options.stop_grace = std::chrono::milliseconds{0};
    planner::PlannerAgent agent(
        options, {.router = router, .actions = actions, .events = events, .log = log});

    planner::IntakeResult intake{};
    try {
        intake = agent.dispatch_text("health_events", message);
    } catch (...) {
        FUZZ_CHECK(!"dispatch_text threw");
    }
    if (intake == planner::IntakeResult::malformed) {
        FUZZ_CHECK(log.count("skip_malformed") == 1);
        FUZZ_CHECK(log.lines().size() == 1);
    }

    // The same parse intake does, to get the event it queued (the agent is not started).
    std::optional<planner::HealthEvent> event;
    if (message.size() <= options.max_message_bytes &&
        !planner::detail::json_text_exceeds_depth(message, options.limits.max_payload_depth + 1)) {
        const auto raw = json::parse(message, nullptr, /*allow_exceptions=*/false);
        if (!raw.is_discarded()) {
            event = planner::try_parse_event(raw, "health_events", 1'780'000'000.0, options.limits)
                        .event;
        }
    }
    FUZZ_CHECK(event.has_value() == (intake != planner::IntakeResult::malformed));
    if (!event) return 0;
    FUZZ_CHECK((intake == planner::IntakeResult::benign) ==
               planner::is_benign_event_type(event->event_type));

    planner::HandleResult handled{};
    try {
        handled = planner::testing::handle_event(agent, *event);
    } catch (...) {
        FUZZ_CHECK(!"handle_event threw");
    }
    const auto written = actions.written();
    FUZZ_CHECK(written.size() <= 1);
    FUZZ_CHECK((handled == planner::HandleResult::proposed) == (written.size() == 1));
    for (const auto& p : written) {
        FUZZ_CHECK(planner::validate_proposal(model_fields(p)).empty());
        FUZZ_CHECK(p.node == event->node);
        FUZZ_CHECK(p.service == event->service);
        FUZZ_CHECK(p.action != "ignore");
        if (planner::is_human_only_node({}, event->node)) FUZZ_CHECK(p.requires_human);
        if (event->event_type == "disk_pressure") FUZZ_CHECK(p.action == "notify");
        if (p.confidence < 0.7) FUZZ_CHECK(p.requires_human);
        const auto file = p.to_action_file();
        FUZZ_CHECK(file.at("node") == event->node);
        (void)file.dump(-1, ' ', false, json::error_handler_t::replace);
        FUZZ_CHECK(events.emitted().size() == 1);
    }
    // A proposal or an ignore records the cooldown, a failure does not.
    const bool recorded = !agent.cooldown().is_ready(event->svc_key());
    if (handled == planner::HandleResult::proposed || handled == planner::HandleResult::ignored) {
        FUZZ_CHECK(recorded);
    } else {
        FUZZ_CHECK(!recorded);
    }
    agent.stop();
    return 0;
}
