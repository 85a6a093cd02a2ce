#pragma once

/// \file
/// `POST /api/v1/alerts/alertmanager`: Alertmanager's webhook as the planner's intake
/// (docs/http-api.md). The translation is the core's events_from_alertmanager; this is the
/// HTTP side: size and shape checks, the optional token, and a status Alertmanager acts on
/// (200 accepted, 400 never retried, 503 retried).

#include <functional>
#include <string>
#include <string_view>

#include <planner/alertmanager.hpp>
#include <planner/log_sink.hpp>

#include "http_auth.hpp"

namespace httplib {
class Server;
}

namespace planner::cli {

struct AlertReceiver {
    AlertmanagerOptions labels;
    /// Empty: any caller that reaches the listener may post alerts.
    std::string token;
    /// Takes one event (JSON text) into the planner; false when it cannot be accepted now
    /// (queue full, stopping), which makes the reply 503 so Alertmanager retries.
    std::function<bool(std::string_view event_json)> accept;
    AuthLimiter* limiter = nullptr;
    LogSink* log = nullptr;
};

/// Adds the route when `receiver.accept` is set.
void add_alertmanager_route(httplib::Server& server, AlertReceiver& receiver);

}  // namespace planner::cli
