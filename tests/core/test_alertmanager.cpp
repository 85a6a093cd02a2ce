#include <catch2/catch.hpp>

#include <planner/alertmanager.hpp>
#include <planner/health_event.hpp>

using planner::AlertmanagerOptions;
using planner::events_from_alertmanager;

namespace {

/// A webhook body as Alertmanager 0.25 sends it (docs: configuration, <webhook_config>).
nlohmann::json webhook(nlohmann::json alerts, std::string status = "firing") {
    return {{"version", "4"},
            {"groupKey", "{}:{alertname=\"ContainerDown\"}"},
            {"truncatedAlerts", 0},
            {"status", std::move(status)},
            {"receiver", "planner"},
            {"groupLabels", {{"alertname", "ContainerDown"}}},
            {"commonLabels", nlohmann::json::object()},
            {"commonAnnotations", nlohmann::json::object()},
            {"externalURL", "http://alertmanager:9093"},
            {"alerts", std::move(alerts)}};
}

nlohmann::json alert(nlohmann::json labels, std::string status = "firing") {
    return {{"status", std::move(status)},
            {"labels", std::move(labels)},
            {"annotations", {{"summary", "mosquitto is down"}}},
            {"startsAt", "2026-11-29T10:00:00.123456789Z"},
            {"endsAt", "0001-01-01T00:00:00Z"},
            {"generatorURL", "http://prometheus:9090/graph?g0.expr=up"},
            {"fingerprint", "c0ffee0123456789"}};
}

}  // namespace

TEST_CASE("alertmanager: a firing alert is an event for its node and service", "[alertmanager]") {
    const auto batch = events_from_alertmanager(webhook({alert({{"alertname", "ContainerDown"},
                                                                {"instance", "piha:9100"},
                                                                {"service", "mosquitto"},
                                                                {"job", "cadvisor"},
                                                                {"severity", "critical"}})}));
    REQUIRE(batch.ok());
    REQUIRE(batch.events.size() == 1);
    CHECK(batch.rejected.empty());
    const auto parsed = planner::try_parse_event(batch.events[0], "alertmanager", 0.0);
    REQUIRE(parsed.event);
    CHECK(parsed.event->node == "piha");          // the port is not part of the node
    CHECK(parsed.event->service == "mosquitto");  // `service` before `job`
    CHECK(parsed.event->event_type == "ContainerDown");
    CHECK(parsed.event->severity == "critical");
    CHECK(parsed.event->timestamp == Approx(1'795'946'400.123).margin(0.001));
    CHECK(parsed.event->payload["annotations"]["summary"] == "mosquitto is down");
    CHECK(parsed.event->payload["labels"]["job"] == "cadvisor");
    CHECK(parsed.event->payload["fingerprint"] == "c0ffee0123456789");
    CHECK_FALSE(planner::is_benign_event_type(parsed.event->event_type));
}

TEST_CASE("alertmanager: resolved alerts are benign, job stands in for service", "[alertmanager]") {
    const auto batch = events_from_alertmanager(
        webhook({alert({{"alertname", "NodeDown"}, {"instance", "[fd00::7]:9100"}, {"job", "node"}},
                       "resolved")},
                "resolved"));
    REQUIRE(batch.events.size() == 1);
    const auto& e = batch.events[0];
    CHECK(e["node"] == "fd00::7");
    CHECK(e["service"] == "node");
    CHECK(planner::is_benign_event_type(e["event_type"].get<std::string>()));
    CHECK(e["payload"]["alertname"] == "NodeDown");
}

TEST_CASE("alertmanager: the labels to read are configurable", "[alertmanager]") {
    AlertmanagerOptions o;
    o.node_label = "host";
    o.service_labels = {"container"};
    const auto batch = events_from_alertmanager(webhook({alert({{"alertname", "OOM"},
                                                                {"host", "solaria"},
                                                                {"container", "jellyfin"},
                                                                {"instance", "10.0.0.5:8080"}})}),
                                                o);
    REQUIRE(batch.events.size() == 1);
    CHECK(batch.events[0]["node"] == "solaria");
    CHECK(batch.events[0]["service"] == "jellyfin");
    CHECK_FALSE(batch.events[0].contains("severity"));  // no label: parse_event's default applies
}

TEST_CASE("alertmanager: an alert without node or service is rejected, the others kept",
          "[alertmanager]") {
    const auto batch = events_from_alertmanager(
        webhook({alert({{"alertname", "A"}, {"service", "x"}}),
                 alert({{"alertname", "B"}, {"instance", "piha"}, {"service", "y"}}),
                 alert({{"instance", "piha"}, {"service", "z"}}), nlohmann::json(42),
                 alert({{"alertname", "C"}, {"instance", ":9100"}, {"service", "w"}})}));
    REQUIRE(batch.ok());
    REQUIRE(batch.events.size() == 1);
    CHECK(batch.events[0]["service"] == "y");
    REQUIRE(batch.rejected.size() == 4);
    CHECK_THAT(batch.rejected[0], Catch::StartsWith("alert 0: needs the labels"));
    CHECK_THAT(batch.rejected[1], Catch::StartsWith("alert 2: "));
    CHECK(batch.rejected[3] == "alert 4: label instance names no node");
    for (const auto& r : batch.rejected) CHECK(r.find('\n') == std::string::npos);
}

TEST_CASE("alertmanager: a body that is not the webhook payload is refused with the reason",
          "[alertmanager]") {
    CHECK_THAT(events_from_alertmanager(nlohmann::json::array()).error,
               Catch::Contains("JSON object"));
    CHECK_THAT(events_from_alertmanager({{"alerts", nlohmann::json::array()}}).error,
               Catch::Contains("'version'"));
    auto v3 = webhook(nlohmann::json::array());
    v3["version"] = "3";
    CHECK_THAT(events_from_alertmanager(v3).error, Catch::Contains("'version'"));
    auto no_alerts = webhook(nlohmann::json::array());
    no_alerts["alerts"] = "none";
    CHECK_THAT(events_from_alertmanager(no_alerts).error, Catch::Contains("'alerts'"));
    CHECK(events_from_alertmanager(webhook(nlohmann::json::array())).ok());
}
