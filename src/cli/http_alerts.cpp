#include "http_alerts.hpp"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "http_api.hpp"

namespace planner::cli {

void add_alertmanager_route(httplib::Server& server, AlertReceiver& receiver) {
    if (!receiver.accept) return;
    server.Post("/api/v1/alerts/alertmanager", [&r = receiver](const httplib::Request& req,
                                                               httplib::Response& res) {
        if (!r.token.empty() &&
            !bearer_authorized(r.token, *r.limiter, *r.log, req, res,
                               "the Alertmanager receiver needs 'Authorization: Bearer <token>' "
                               "with the token from alertmanager.token_file")) {
            return;
        }
        const auto body = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
        const AlertmanagerBatch batch =
            body.is_discarded()
                ? AlertmanagerBatch{{}, {}, "the body is not JSON (Alertmanager's webhook payload)"}
                : events_from_alertmanager(body, r.labels);
        if (!batch.ok()) {
            r.log->log(LogLevel::warn, "alertmanager_refused",
                       {{"client", req.remote_addr}, {"error", batch.error}});
            reply_json(res, 400, {{"error", batch.error}});
            return;
        }
        // One alert that names no node or service is logged and dropped: Alertmanager would
        // send it again unchanged, so a retry could never help.
        for (const auto& why : batch.rejected) {
            r.log->log(LogLevel::warn, "alertmanager_alert_rejected",
                       {{"client", req.remote_addr}, {"error", why}});
        }
        std::size_t accepted = 0;
        for (const auto& event : batch.events) {
            if (!r.accept(event.dump())) {
                // The rest are not taken either; Alertmanager resends the whole group, and the
                // events already taken are coalesced or in cooldown by then.
                reply_json(res, 503,
                           {{"error",
                             "the planner cannot take events now (queue full or "
                             "stopping); retry"},
                            {"accepted", accepted}});
                res.set_header("Retry-After", "5");
                return;
            }
            ++accepted;
        }
        reply_json(res, 200, {{"accepted", accepted}, {"rejected", batch.rejected}});
    });
}

}  // namespace planner::cli
