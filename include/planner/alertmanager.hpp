#pragma once

/// \file
/// Alertmanager's webhook payload (version 4) as health events, so a homelab that already
/// alerts with Prometheus can feed the planner without an agent of its own.

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace planner {

/// Which labels name the node and the service of an alert.
struct AlertmanagerOptions {
    /// The node: this label's value without a trailing `:port` (`instance="piha:9100"` is
    /// node `piha`).
    std::string node_label = "instance";
    /// The service: the first of these labels an alert has.
    std::vector<std::string> service_labels{"service", "job"};
};

/// One webhook body, translated. `error` is set (and nothing else) when the body is not
/// Alertmanager's payload at all; otherwise each alert is either an event or a rejection.
struct AlertmanagerBatch {
    std::vector<nlohmann::json> events;  ///< each a health event in the `event_type` shape
    std::vector<std::string> rejected;   ///< one line per alert that names no node or service
    std::string error;

    bool ok() const noexcept { return error.empty(); }
};

namespace detail {

inline const std::string* string_label(const nlohmann::json& labels, const std::string& name) {
    const auto it = labels.find(name);
    if (it == labels.end() || !it->is_string() || it->get_ref<const std::string&>().empty()) {
        return nullptr;
    }
    return &it->get_ref<const std::string&>();
}

/// `piha:9100` → `piha`, `[fd00::1]:9100` → `fd00::1`, `fd00::1` (no port) unchanged.
inline std::string without_port(std::string_view instance) {
    if (instance.starts_with('[')) {
        const auto close = instance.find(']');
        if (close != std::string_view::npos) return std::string(instance.substr(1, close - 1));
    }
    const auto colon = instance.rfind(':');
    if (colon != std::string_view::npos && instance.find(':') == colon &&
        colon + 1 < instance.size()) {
        const auto port = instance.substr(colon + 1);
        if (port.find_first_not_of("0123456789") == std::string_view::npos) {
            return std::string(instance.substr(0, colon));
        }
    }
    return std::string(instance);
}

}  // namespace detail

/// Translates a webhook body. A firing alert becomes an event: `node` from the node label,
/// `service` from the first service label present, `event_type` from `alertname`, `severity`
/// from the `severity` label (default `warning`), `timestamp` from `startsAt`, and the labels,
/// annotations, fingerprint and generator URL as the payload. A resolved alert becomes a
/// `service_recovered` event, which the planner counts as benign and never plans.
/// The events still go through parse_event and its limits when dispatched.
inline AlertmanagerBatch events_from_alertmanager(const nlohmann::json& body,
                                                  const AlertmanagerOptions& options = {}) {
    AlertmanagerBatch batch;
    if (!body.is_object()) {
        batch.error = "the body must be a JSON object (Alertmanager's webhook payload)";
        return batch;
    }
    const auto version = body.find("version");
    if (version == body.end() || !version->is_string() || *version != "4") {
        batch.error = "field 'version' must be \"4\" (Alertmanager's webhook payload)";
        return batch;
    }
    const auto alerts = body.find("alerts");
    if (alerts == body.end() || !alerts->is_array()) {
        batch.error = "field 'alerts' must be an array";
        return batch;
    }
    for (std::size_t i = 0; i < alerts->size(); ++i) {
        const auto& alert = (*alerts)[i];
        const std::string where = "alert " + std::to_string(i);
        if (!alert.is_object() || !alert.contains("labels") || !alert["labels"].is_object()) {
            batch.rejected.push_back(where + ": no labels object");
            continue;
        }
        const auto& labels = alert["labels"];
        const auto* alertname = detail::string_label(labels, "alertname");
        const auto* instance = detail::string_label(labels, options.node_label);
        const std::string* service = nullptr;
        for (const auto& name : options.service_labels) {
            if ((service = detail::string_label(labels, name)) != nullptr) break;
        }
        if (alertname == nullptr || instance == nullptr || service == nullptr) {
            batch.rejected.push_back(
                where + ": needs the labels alertname, " + options.node_label + " and one of " +
                nlohmann::json(options.service_labels).dump() + " as non-empty strings");
            continue;
        }
        const std::string node = detail::without_port(*instance);
        if (node.empty()) {
            batch.rejected.push_back(where + ": label " + options.node_label + " names no node");
            continue;
        }
        const bool resolved = alert.value("status", std::string("firing")) == "resolved";
        nlohmann::json payload = {{"alertname", *alertname}, {"labels", labels}};
        for (const char* field :
             {"annotations", "fingerprint", "generatorURL", "startsAt", "endsAt", "status"}) {
            if (const auto it = alert.find(field); it != alert.end()) payload[field] = *it;
        }
        nlohmann::json event = {{"event_type", resolved ? "service_recovered" : *alertname},
                                {"node", node},
                                {"service", *service},
                                {"payload", std::move(payload)}};
        if (const auto* severity = detail::string_label(labels, "severity")) {
            event["severity"] = *severity;
        }
        if (const auto it = alert.find("startsAt"); it != alert.end() && it->is_string()) {
            event["timestamp"] = *it;
        }
        batch.events.push_back(std::move(event));
    }
    return batch;
}

}  // namespace planner
