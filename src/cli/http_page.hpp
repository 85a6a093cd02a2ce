#pragma once

/// \file
/// The approval page (web/index.html, compiled in): one file with its style and script inline,
/// served with a Content-Security-Policy that allows exactly those two by their hashes.

#include <string>

namespace planner::cli {

struct ApprovalPage {
    std::string html;
    /// `default-src 'none'; script-src 'sha256-…'; style-src 'sha256-…'; connect-src 'self'; …`
    std::string content_security_policy;
};

/// Built once, on first use.
const ApprovalPage& approval_page();

}  // namespace planner::cli
