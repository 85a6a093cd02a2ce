#pragma once

// libcurl, opened on first use (docs/performance.md, idle footprint): planner::planner does not
// link it, so a planner that never sends a request (the rules model, the default chain before
// its first incident) maps none of libcurl's ~25 libraries. Not installed.

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include <curl/curl.h>

#include "planner/http_transport.hpp"
#include "shared_library.hpp"

namespace planner::detail {

/// The few libcurl functions the planner calls, typed from curl.h's own declarations.
struct CurlLibrary {
    std::shared_ptr<const SharedLibrary> library;  ///< what they live in (never closed)
    decltype(&::curl_global_init) global_init = nullptr;
    decltype(&::curl_easy_init) easy_init = nullptr;
    decltype(&::curl_easy_cleanup) easy_cleanup = nullptr;
    decltype(&::curl_easy_setopt) easy_setopt = nullptr;
    decltype(&::curl_easy_perform) easy_perform = nullptr;
    decltype(&::curl_easy_getinfo) easy_getinfo = nullptr;
    decltype(&::curl_easy_strerror) easy_strerror = nullptr;
    decltype(&::curl_slist_append) slist_append = nullptr;
    decltype(&::curl_slist_free_all) slist_free_all = nullptr;
    decltype(&::curl_getdate) getdate = nullptr;
};

/// The soname Debian's libcurl4 package provides (the OpenSSL build).
inline constexpr const char* kCurlSoname = "libcurl.so.4";

/// Opens `soname` and resolves every function, without curl_global_init. Throws
/// std::runtime_error with one line (which library, which package) when that fails.
CurlLibrary open_curl_library(const std::string& soname);

/// libcurl.so.4, opened and globally initialised once, on the first call (thread-safe). A call
/// that fails throws as open_curl_library does; the next call tries again.
const CurlLibrary& curl_library();

/// The libcurl transport with the library taken from `library` on the first request; a
/// failure to load is that request's transport failure, with the loader's one-line reason.
/// make_curl_transport() is this with curl_library().
std::shared_ptr<HttpTransport> make_curl_transport(std::size_t max_response_bytes,
                                                   std::function<const CurlLibrary&()> library);

}  // namespace planner::detail
