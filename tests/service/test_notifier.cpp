// Notifications over real loopback HTTP, one receiver per wire format, and every way a
// receiver fails: 500s, a receiver that never answers, nothing listening, a full queue.

#include <map>

#include <catch2/catch.hpp>

#include <planner/testing.hpp>
#include "planner/notifier.hpp"
#include "support/provider_server.hpp"

using namespace planner;
using namespace planner::testing;
using namespace std::chrono_literals;

namespace {

ActionProposal proposal(bool requires_human = true) {
    return a_proposal()
        .id("plan-piha-mosquitto-1-1")
        .confidence(0.62)
        .requires_human(requires_human);
}

struct Setup {
    RecordingLogSink log;
    std::vector<std::chrono::milliseconds> slept;
    NotifierOptions options(std::vector<NotifyTarget> targets) {
        NotifierOptions o;
        o.targets = std::move(targets);
        o.timeout = 500ms;
        o.backoff = 100ms;
        o.sleep = [this](std::chrono::milliseconds d) { slept.push_back(d); };
        return o;
    }
    /// A started notifier that was handed `p` and has finished delivering it.
    Notifier& deliver(NotifierOptions o, const ActionProposal& p = proposal()) {
        notifier = std::make_unique<Notifier>(std::move(o), make_curl_transport(), log);
        notifier->start();
        notifier->notify(p);
        REQUIRE(notifier->wait_idle(20s));
        return *notifier;
    }
    std::unique_ptr<Notifier> notifier;
};

NotifyTarget target(NotifyFormat f, std::string url) {
    NotifyTarget t;
    t.format = f;
    t.url = std::move(url);
    return t;
}

ScriptedReply reply(int status, std::string body = "") {
    return ScriptedReply{status, std::move(body), {}, false};
}

bool log_mentions(const RecordingLogSink& log, const std::string& s) {
    for (const auto& l : log.lines()) {
        if (l.fields.dump().find(s) != std::string::npos || l.event.find(s) != std::string::npos) {
            return true;
        }
    }
    return false;
}

}  // namespace

TEST_CASE("HMAC-SHA256 matches RFC 4231", "[notifier]") {
    CHECK(hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    CHECK(hmac_sha256_hex(std::string(20, '\x0b'), "Hi There") ==
          "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    // Test case 6: a key longer than the block size.
    CHECK(hmac_sha256_hex(std::string(131, '\xaa'),
                          "Test Using Larger Than Block-Size Key - Hash Key First") ==
          "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST_CASE("ntfy: text body, Title, Priority, Tags and the token", "[notifier]") {
    ProviderServer server;
    server.script({reply(200, "{}")});
    Setup s;
    auto t = target(NotifyFormat::ntfy, server.url() + "/homelab");
    t.token = "tk_secret";
    Notifier n(s.options({t}), make_curl_transport(), s.log);
    n.start();
    CHECK(n.notify(proposal()) == 1);
    REQUIRE(n.wait_idle(10s));
    const auto reqs = server.requests();
    REQUIRE(reqs.size() == 1);
    CHECK(reqs[0].path == "/homelab");
    CHECK(reqs[0].header("Title") == "Approve: restart mosquitto on piha");
    CHECK(reqs[0].header("Priority") == "4");
    CHECK(reqs[0].header("Tags") == "robot,low,restart");
    CHECK(reqs[0].header("Authorization") == "Bearer tk_secret");
    CHECK(reqs[0].body.find("exited with code 137") != std::string::npos);
    CHECK(reqs[0].body.find("planner-ctl approve plan-piha-mosquitto-1-1") != std::string::npos);
    CHECK(n.counters().sent == 1);
}

TEST_CASE("gotify: POST /message with the app token and a priority", "[notifier]") {
    ProviderServer server;
    server.script({reply(200, R"({"id":1})")});
    Setup s;
    auto t = target(NotifyFormat::gotify, server.url() + "/");
    t.token = "AppToken";
    t.priority = 7;
    s.deliver(s.options({t}));
    const auto reqs = server.requests();
    REQUIRE(reqs.size() == 1);
    CHECK(reqs[0].path == "/message");
    CHECK(reqs[0].header("X-Gotify-Key") == "AppToken");
    const auto body = reqs[0].json();
    CHECK(body["title"] == "Approve: restart mosquitto on piha");
    CHECK(body["priority"] == 7);
    CHECK(body["message"].get<std::string>().find("exited with code 137") != std::string::npos);
}

TEST_CASE("webhook: the proposal, its event, a link, extra headers and a signature", "[notifier]") {
    ProviderServer server;
    server.script({reply(204, "")});
    Setup s;
    auto t = target(NotifyFormat::webhook, server.url() + "/hook");
    t.secret = "s3cret";
    t.headers = {{"X-Receiver-Key", "abc"}, {"X-Evil", "a\r\nInjected: yes"}};
    auto o = s.options({t});
    o.link_base = "http://planner.lan:8080/actions/";
    s.deliver(o);
    const auto reqs = server.requests();
    REQUIRE(reqs.size() == 1);
    const auto body = reqs[0].json();
    CHECK(body["event"] == "remediation_proposed");
    CHECK(body["proposal"] == proposal().to_action_file());
    CHECK(body["link"] == "http://planner.lan:8080/actions/plan-piha-mosquitto-1-1");
    CHECK(reqs[0].header("X-Receiver-Key") == "abc");
    CHECK_FALSE(reqs[0].has_header("Injected"));
    CHECK(reqs[0].header("X-Planner-Signature") ==
          "sha256=" + hmac_sha256_hex("s3cret", reqs[0].body));
}

TEST_CASE("slack: an incoming-webhook text message", "[notifier]") {
    ProviderServer server;
    server.script({reply(200, "ok")});
    Setup s;
    s.deliver(s.options({target(NotifyFormat::slack, server.url() + "/services/T/B/X")}));
    const auto reqs = server.requests();
    REQUIRE(reqs.size() == 1);
    const auto body = reqs[0].json();
    CHECK(body.size() == 1);
    CHECK(body["text"].get<std::string>().starts_with("*Approve: restart mosquitto on piha*"));
}

TEST_CASE("when: requires_human skips automatic proposals, always does not", "[notifier]") {
    ProviderServer server;
    server.script({reply(200, "")});
    Setup s;
    auto human = target(NotifyFormat::slack, server.url() + "/human");
    auto always = target(NotifyFormat::slack, server.url() + "/always");
    always.when = NotifyWhen::always;
    Notifier n(s.options({human, always}), make_curl_transport(), s.log);
    n.start();
    CHECK(n.notify(proposal(false)) == 1);
    REQUIRE(n.wait_idle(10s));
    REQUIRE(server.requests().size() == 1);
    CHECK(server.requests()[0].path == "/always");
}

TEST_CASE("500s are retried with backoff, then one notify_failed without the URL", "[notifier]") {
    ProviderServer server;
    server.script({reply(500, "boom"), reply(502, "boom"), reply(503, "boom")});
    Setup s;
    auto t = target(NotifyFormat::slack, server.url() + "/services/T000/B000/XXXXSECRET");
    auto& n = s.deliver(s.options({t}));
    CHECK(server.requests().size() == 3);
    CHECK(s.slept == std::vector<std::chrono::milliseconds>{100ms, 200ms});
    CHECK(n.counters().failed == 1);
    CHECK(n.counters().retries == 2);
    const auto lines = s.log.lines();
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].event == "notify_failed");
    CHECK(lines[0].fields["target"] == "slack#1");
    CHECK(lines[0].fields["error"] == "HTTP 503");
    CHECK(lines[0].fields["tries"] == 3);
    CHECK_FALSE(log_mentions(s.log, "XXXXSECRET"));
    CHECK_FALSE(log_mentions(s.log, std::to_string(server.port())));
}

TEST_CASE("a 500 then a 200 is delivered once", "[notifier]") {
    ProviderServer server;
    server.script({reply(500, ""), reply(200, "")});
    Setup s;
    auto& n = s.deliver(s.options({target(NotifyFormat::webhook, server.url())}));
    CHECK(n.counters().sent == 1);
    CHECK(n.counters().failed == 0);
    CHECK(s.log.lines().empty());
}

TEST_CASE("a receiver that never answers times out per try", "[notifier]") {
    ProviderServer server;
    server.script({hang(), hang(), hang()});
    Setup s;
    auto t = target(NotifyFormat::ntfy, server.url() + "/topic");
    t.token = "tk_never_logged";
    Notifier n(s.options({t}), make_curl_transport(), s.log);
    n.start();
    const auto before = std::chrono::steady_clock::now();
    n.notify(proposal());
    REQUIRE(n.wait_idle(20s));
    CHECK(std::chrono::steady_clock::now() - before < 10s);
    CHECK(n.counters().failed == 1);
    REQUIRE(s.log.lines().size() == 1);
    CHECK(s.log.lines()[0].fields["error"] == "timeout");
    CHECK_FALSE(log_mentions(s.log, "tk_never_logged"));
    server.release();
}

TEST_CASE("nothing listening, and a 4xx that is not retried", "[notifier]") {
    ProviderServer server;
    server.script({reply(401, "bad token")});
    Setup s;
    auto& n =
        s.deliver(s.options({target(NotifyFormat::gotify, server.url()),
                             target(NotifyFormat::webhook,
                                    "http://127.0.0.1:" + std::to_string(closed_port()) + "/x")}));
    CHECK(server.requests().size() == 1);  // 401: retrying would not help
    CHECK(n.counters().failed == 2);
    const auto lines = s.log.lines();
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].fields["error"] == "HTTP 401");
    CHECK(lines[1].fields["error"] == "transport error");
    CHECK(lines[1].fields["tries"] == 3);
}

TEST_CASE("a full queue drops with a counter and never blocks the caller", "[notifier]") {
    ProviderServer server;
    Setup s;
    auto o = s.options({target(NotifyFormat::slack, server.url())});
    o.queue_capacity = 2;
    Notifier n(o, make_curl_transport(), s.log);  // not started: nothing drains
    CHECK(n.notify(proposal()) == 1);
    CHECK(n.notify(proposal()) == 1);
    CHECK(n.notify(proposal()) == 0);
    CHECK(n.counters().dropped == 1);
    REQUIRE(s.log.lines().size() == 1);
    CHECK(s.log.lines()[0].event == "notify_dropped");
}

TEST_CASE("NotifyingActionSink notifies only what was stored", "[notifier]") {
    ProviderServer server;
    server.script({reply(200, "")});
    Setup s;
    Notifier n(s.options({target(NotifyFormat::slack, server.url())}), make_curl_transport(),
               s.log);
    RecordingActionSink inner;
    NotifyingActionSink sink(inner, n);
    sink.write(proposal());
    CHECK(inner.written().size() == 1);
    n.start();
    REQUIRE(n.wait_idle(10s));
    CHECK(server.requests().size() == 1);
}

TEST_CASE("an escalated proposal goes out at the highest priority in every format",
          "[notifier][escalation]") {
    ProviderServer server;
    server.script({reply(200, "{}"), reply(200, "{}"), reply(200, "{}"), reply(200, "ok")});
    Setup s;
    auto ntfy = target(NotifyFormat::ntfy, server.url() + "/ntfy");
    ntfy.priority = 2;  // configured low: an escalation overrides it
    auto gotify = target(NotifyFormat::gotify, server.url());
    gotify.priority = 1;
    gotify.token = "AppToken";
    auto o = s.options({ntfy, gotify, target(NotifyFormat::webhook, server.url() + "/hook"),
                        target(NotifyFormat::slack, server.url() + "/slack")});
    Notifier n(std::move(o), make_curl_transport(), s.log);
    RecordingActionSink inner;
    NotifyingActionSink sink(inner, n);
    auto p = proposal();
    p.escalated = true;
    p.history = nlohmann::json::array({{{"action_id", "earlier"}, {"status", "failed"}}});
    // The pending proposal's file was updated already: the sink only tells people again.
    sink.escalated(p);
    CHECK(inner.written().empty());
    n.start();
    REQUIRE(n.wait_idle(10s));
    const auto reqs = server.requests();
    REQUIRE(reqs.size() == 4);
    std::map<std::string, RecordedRequest> by_path;
    for (const auto& r : reqs) by_path[r.path] = r;
    CHECK(by_path["/ntfy"].header("Priority") == "5");
    CHECK(by_path["/ntfy"].header("Title") == "Escalated: restart mosquitto on piha");
    CHECK(by_path["/ntfy"].header("Tags") == "robot,low,restart,rotating_light");
    CHECK(by_path["/message"].json()["priority"] == 10);
    const auto hook = by_path["/hook"].json();
    CHECK(hook["priority"] == "high");
    CHECK(hook["proposal"]["escalated"] == true);
    CHECK(hook["proposal"]["history"][0]["status"] == "failed");
    CHECK(by_path["/slack"].json()["text"].get<std::string>().starts_with(
        "*Escalated: restart mosquitto on piha*"));

    // Not escalated: the webhook body has no priority, as before.
    ProviderServer plain;
    plain.script({reply(204, "")});
    Setup s2;
    s2.deliver(s2.options({target(NotifyFormat::webhook, plain.url() + "/hook")}));
    CHECK_FALSE(plain.requests().at(0).json().contains("priority"));
}
