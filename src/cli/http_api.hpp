#pragma once

/// \file
/// The proposals API of the HTTP listener (docs/http-api.md): list, show, approve, reject,
/// through the same ActionStore transitions as planner-ctl.

#include <string>

#include <planner/action_store.hpp>
#include <planner/log_sink.hpp>

#include "http_auth.hpp"

namespace httplib {
class Server;
}

namespace planner::cli {

/// What the routes share; owned by the HttpServer and outliving its threads.
struct ProposalApi {
    ActionStore* store = nullptr;  ///< null: --dry-run, every route answers 503
    std::string token;             ///< empty: read-only
    AuthLimiter* limiter = nullptr;
    LogSink* log = nullptr;
};

/// Adds `GET /api/v1/proposals`, `GET /api/v1/proposals/ID` and
/// `POST /api/v1/proposals/ID/{approve,reject}` to `server`.
void add_proposal_routes(httplib::Server& server, ProposalApi& api);

}  // namespace planner::cli
