#pragma once

/// \file
/// The proposals API of the HTTP listener (docs/http-api.md): list, show, approve, reject,
/// through the same ActionStore transitions as planner-ctl.

#include <string>

#include <nlohmann/json.hpp>

#include <planner/action_store.hpp>
#include <planner/log_sink.hpp>

#include "http_auth.hpp"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace planner::cli {

/// What the routes share; owned by the HttpServer and outliving its threads.
struct ProposalApi {
    ActionStore* store = nullptr;  ///< null: --dry-run, every route answers 503
    std::string token;             ///< empty: read-only
    AuthLimiter* limiter = nullptr;
    LogSink* log = nullptr;
};

/// Answers `status` with `body` as one JSON line: what every route of the listener replies.
void reply_json(httplib::Response& res, int status, const nlohmann::json& body);

/// The bearer check of every route that changes something: true when the request carries
/// `token`. Otherwise answers 401 (saying `needs`, never the presented token, which is not
/// logged either), or 429 once the client address failed too often, and returns false.
bool bearer_authorized(const std::string& token, AuthLimiter& limiter, LogSink& log,
                       const httplib::Request& req, httplib::Response& res,
                       const std::string& needs);

/// Adds `GET /api/v1/proposals`, `GET /api/v1/proposals/ID` and
/// `POST /api/v1/proposals/ID/{approve,reject}` to `server`.
void add_proposal_routes(httplib::Server& server, ProposalApi& api);

}  // namespace planner::cli
