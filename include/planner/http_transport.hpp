#pragma once

/// \file
/// The one HTTP call the model chain needs, behind an interface: production uses libcurl,
/// embedders can route through their own client, and tests can count or fail requests.

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace planner {

/// A name and value; names of response headers are lower-cased.
using HttpHeader = std::pair<std::string, std::string>;

/// One POST with a JSON body.
struct HttpRequest {
    std::string url;
    std::vector<HttpHeader> headers;  ///< may hold an API key: never log them
    std::string body;
    std::chrono::milliseconds timeout{60'000};  ///< the whole exchange, connect included
};

/// How an exchange ended before any HTTP status arrived.
enum class HttpFailure {
    none,       ///< a response arrived; see `status`
    timeout,    ///< no complete response within the request's timeout
    transport,  ///< DNS, connect, TLS, reset, ...
    too_large,  ///< the body passed the transport's size cap; the same request would again
};

/// What came back. `status` is 0 unless `failure` is none.
struct HttpResponse {
    HttpFailure failure = HttpFailure::none;
    long status = 0;
    std::vector<HttpHeader> headers;
    std::string body;
    std::string error;  ///< why the exchange failed; one line, free of request headers

    /// The first header named `name` (compared case-insensitively), or "" when absent.
    std::string_view header(std::string_view name) const noexcept;
};

/// Sends one request. Implementations must be safe to call from several threads at once and
/// report failures in the response instead of throwing.
class HttpTransport {
  public:
    virtual ~HttpTransport() = default;
    virtual HttpResponse post(const HttpRequest& request) = 0;
};

/// Largest response body the default transport accepts; a model answer is a few KiB.
inline constexpr std::size_t kDefaultMaxResponseBytes = 4 * 1024 * 1024;

/// libcurl, initialised on the first request: TLS verified, no redirects, http(s) only, bodies
/// above `max_response_bytes` refused.
std::shared_ptr<HttpTransport> make_curl_transport(
    std::size_t max_response_bytes = kDefaultMaxResponseBytes);

}  // namespace planner
