#include "http_api.hpp"

#include <httplib.h>

#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include <planner/detail/json_limits.hpp>

namespace planner::cli {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxNameBytes = 200;
constexpr std::size_t kMaxTextBytes = 4096;

void reply(httplib::Response& res, int status, const json& body) {
    reply_json(res, status, body);
}

void error(httplib::Response& res, int status, const std::string& message) {
    reply(res, status, {{"error", message}});
}

/// --dry-run keeps no actions directory: nothing to list or decide.
bool have_store(const ProposalApi& api, httplib::Response& res) {
    if (api.store != nullptr) return true;
    error(res, 503, "no proposals: planner-run runs with --dry-run and writes none");
    return false;
}

int http_status(ActionStoreError::Kind kind) {
    switch (kind) {
        case ActionStoreError::Kind::invalid_id:
            return 400;
        case ActionStoreError::Kind::not_found:
            return 404;
        case ActionStoreError::Kind::conflict:
        case ActionStoreError::Kind::expired:
            return 409;
        case ActionStoreError::Kind::unreadable:
            break;
    }
    return 500;
}

bool valid_id(const std::string& id, httplib::Response& res) {
    if (is_valid_action_id(id)) return true;
    error(res, 400, "invalid action ID (expected [A-Za-z0-9._-], 1..200 bytes, no leading dot)");
    return false;
}

/// Writes need the bearer token; without one configured, the API is read-only.
bool authorized(ProposalApi& api, const httplib::Request& req, httplib::Response& res) {
    if (api.token.empty()) {
        error(res, 403,
              "the API is read-only: planner-run was started without --http-token-file, so "
              "approve and reject are off (use planner-ctl)");
        return false;
    }
    return bearer_authorized(api.token, *api.limiter, *api.log, req, res,
                             "approve and reject need 'Authorization: Bearer <token>' with the "
                             "token from planner-run's --http-token-file");
}

/// The body as an object with only `keys`, each a string; `required` ones non-empty. Nullopt
/// (and a 400 naming the problem) otherwise.
std::optional<json> body_fields(const httplib::Request& req, httplib::Response& res,
                                const std::set<std::string>& keys,
                                const std::set<std::string>& required) {
    auto body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object()) {
        error(res, 400, "the body must be a JSON object such as {\"by\": \"alice\", ...}");
        return std::nullopt;
    }
    for (const auto& [key, value] : body.items()) {
        if (!keys.contains(key)) {
            error(res, 400, "unknown key '" + key.substr(0, 64) + "' in the body");
            return std::nullopt;
        }
        if (!value.is_string()) {
            error(res, 400, "'" + key + "' must be a string");
            return std::nullopt;
        }
        const auto& text = value.get_ref<const std::string&>();
        if (text.size() > (key == "by" ? kMaxNameBytes : kMaxTextBytes)) {
            error(res, 400, "'" + key + "' is too long");
            return std::nullopt;
        }
    }
    for (const auto& key : required) {
        if (!body.contains(key) || body[key].get_ref<const std::string&>().empty()) {
            error(res, 400, "'" + key + "' is required");
            return std::nullopt;
        }
    }
    for (const char c : body["by"].get_ref<const std::string&>()) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
            error(res, 400, "'by' holds a control character");
            return std::nullopt;
        }
    }
    return body;
}

void decide(ProposalApi& api, const httplib::Request& req, httplib::Response& res) {
    if (!have_store(api, res) || !authorized(api, req, res)) return;
    const std::string id = req.matches[1];
    const bool approve = req.matches[2] == "approve";
    if (!valid_id(id, res)) return;
    const auto body = approve ? body_fields(req, res, {"by", "note"}, {"by"})
                              : body_fields(req, res, {"by", "reason"}, {"by", "reason"});
    if (!body) return;
    const std::string by = (*body)["by"];
    try {
        const TransitionResult r = approve ? api.store->approve(id, by, body->value("note", ""))
                                           : api.store->reject(id, by, body->value("reason", ""));
        json out = {{"action_id", id},
                    {"from", to_string(r.from)},
                    {"to", to_string(r.to)},
                    {"proposal", r.file}};
        api.log->log(LogLevel::info, "http_decision",
                     {{"action_id", id},
                      {"from", to_string(r.from)},
                      {"to", to_string(r.to)},
                      {"by", by},
                      {"client", req.remote_addr}});
        if (!r.event_error.empty()) {
            // The transition stands (file and audit log); only the event file is missing.
            out["warning"] = "event not written: " + r.event_error;
            api.log->log(LogLevel::warn, "http_event_not_written",
                         {{"action_id", id}, {"error", r.event_error}});
        }
        reply(res, 200, out);
    } catch (const ActionStoreError& e) {
        const int status = http_status(e.kind());
        if (status >= 500) {
            api.log->log(LogLevel::error, "http_error", {{"action_id", id}, {"error", e.what()}});
        }
        error(res, status, e.what());
    }
}

}  // namespace

void reply_json(httplib::Response& res, int status, const json& body) {
    res.status = status;
    res.set_content(detail::dump_lenient(body) + "\n", "application/json");
}

/// A client that failed too often within the window is refused before its token is looked at.
bool bearer_authorized(const std::string& token, AuthLimiter& limiter, LogSink& log,
                       const httplib::Request& req, httplib::Response& res,
                       const std::string& needs) {
    const std::string& client = req.remote_addr;
    if (limiter.limited(client)) {
        res.set_header("Retry-After", "60");
        error(res, 429, "too many failed authentications from this address; try again later");
        return false;
    }
    const auto header = req.get_header_value("Authorization");
    const auto presented = bearer_token(header);
    if (presented && constant_time_equal(*presented, token)) return true;
    const auto failures = limiter.fail(client);
    // The presented token is never logged: it may be a near miss of the real one.
    log.log(LogLevel::warn, "http_auth_failed",
            {{"client", client},
             {"method", req.method},
             {"reason", header.empty() ? "no Authorization header"
                        : presented    ? "wrong token"
                                       : "not a Bearer token"},
             {"failures", failures}});
    res.set_header("WWW-Authenticate", "Bearer");
    error(res, 401, needs);
    return false;
}

void add_proposal_routes(httplib::Server& server, ProposalApi& api) {
    server.Get("/api/v1/proposals", [&api](const httplib::Request& req, httplib::Response& res) {
        if (!have_store(api, res)) return;
        std::optional<std::string> status;
        if (req.has_param("status")) {
            status = req.get_param_value("status");
            if (!parse_action_status(*status)) {
                error(res, 400,
                      "unknown status; one of pending, approved, rejected, expired, executing, "
                      "succeeded, failed");
                return;
            }
        }
        const auto wanted = status ? parse_action_status(*status) : std::nullopt;
        json list = json::array();
        for (const auto& f : api.store->list()) {
            if (!wanted || f.status == *wanted) list.push_back(f.to_json());
        }
        reply(res, 200, {{"proposals", std::move(list)}});
    });
    // `.+`, not `[^/]+`: the path is decoded before matching, so `..%2Fx` arrives as `../x`
    // and must reach the ID check (400) rather than fall through to a 404.
    server.Get(R"(/api/v1/proposals/(.+))",
               [&api](const httplib::Request& req, httplib::Response& res) {
                   if (!have_store(api, res)) return;
                   const std::string id = req.matches[1];
                   if (!valid_id(id, res)) return;
                   try {
                       const auto file = api.store->read(id);
                       if (!file) {
                           error(res, 404, "no action " + id);
                           return;
                       }
                       reply(res, 200, file->to_json());
                   } catch (const ActionStoreError& e) {
                       error(res, http_status(e.kind()), e.what());
                   }
               });
    server.Post(
        R"(/api/v1/proposals/(.+)/(approve|reject))",
        [&api](const httplib::Request& req, httplib::Response& res) { decide(api, req, res); });
}

}  // namespace planner::cli
