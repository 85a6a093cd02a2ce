#include <algorithm>
#include <cctype>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include <curl/curl.h>

#include "planner/http_transport.hpp"
#include "text.hpp"

namespace planner {

namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) ==
               std::tolower(static_cast<unsigned char>(y));
    });
}

struct Exchange {
    HttpResponse response;
    std::size_t max_body = 0;
    bool body_too_large = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    auto& ex = *static_cast<Exchange*>(user);
    const std::size_t n = size * count;
    if (ex.response.body.size() + n > ex.max_body) {
        ex.body_too_large = true;
        return 0;  // makes curl abort with CURLE_WRITE_ERROR
    }
    ex.response.body.append(data, n);
    return n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
    auto& ex = *static_cast<Exchange*>(user);
    const std::size_t n = size * count;
    const std::string_view line(data, n);
    if (line.starts_with("HTTP/")) {
        ex.response.headers.clear();  // a new response (e.g. after 100 Continue)
        return n;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return n;
    std::string name(detail::trim(line.substr(0, colon)));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    ex.response.headers.emplace_back(std::move(name),
                                     std::string(detail::trim(line.substr(colon + 1))));
    return n;
}

struct EasyDeleter {
    void operator()(CURL* h) const noexcept { curl_easy_cleanup(h); }
};
struct SlistDeleter {
    void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};

/// curl_global_init, once, before the first handle: it is not thread-safe, so a function-local
/// static (initialised under the compiler's lock) runs it. A failure is each request's
/// transport failure.
bool curl_initialised() {
    static const bool ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
    return ok;
}

class CurlTransport final : public HttpTransport {
  public:
    explicit CurlTransport(std::size_t max_response_bytes) : max_body_(max_response_bytes) {}

    HttpResponse post(const HttpRequest& request) override {
        if (!curl_initialised()) return failure(HttpFailure::transport, "curl_global_init failed");
        // One handle per call: nothing is shared between threads, and a half-read connection
        // from a timed-out attempt is never reused.
        std::unique_ptr<CURL, EasyDeleter> easy(curl_easy_init());
        Exchange ex;
        ex.max_body = max_body_;
        if (!easy) return failure(HttpFailure::transport, "could not create a curl handle");

        std::unique_ptr<curl_slist, SlistDeleter> headers;
        for (const auto& [name, value] : request.headers) {
            const std::string line = name + ": " + value;
            curl_slist* appended = curl_slist_append(headers.get(), line.c_str());
            if (!appended) return failure(HttpFailure::transport, "out of memory");
            (void)headers.release();
            headers.reset(appended);
        }

        const long timeout_ms =
            static_cast<long>(std::max<std::int64_t>(1, request.timeout.count()));
        char error_buffer[CURL_ERROR_SIZE] = {};
        CURL* h = easy.get();
        curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                         static_cast<curl_off_t>(request.body.size()));
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM: thread-safe
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect could carry the key away
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
        curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(max_body_));
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &ex);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &ex);
        curl_easy_setopt(h, CURLOPT_USERAGENT, "homelab-planner");

        const CURLcode rc = curl_easy_perform(h);
        if (ex.body_too_large || rc == CURLE_FILESIZE_EXCEEDED) {
            return failure(HttpFailure::too_large,
                           "response larger than " + std::to_string(max_body_) + " bytes");
        }
        if (rc == CURLE_OPERATION_TIMEDOUT) {
            return failure(HttpFailure::timeout,
                           "no answer within " + std::to_string(timeout_ms) + " ms");
        }
        if (rc != CURLE_OK) {
            const std::string detail = error_buffer[0] ? error_buffer : curl_easy_strerror(rc);
            return failure(HttpFailure::transport, detail);
        }
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &ex.response.status);
        return std::move(ex.response);
    }

  private:
    static HttpResponse failure(HttpFailure kind, std::string error) {
        HttpResponse r;
        r.failure = kind;
        r.error = std::move(error);
        return r;
    }

    std::size_t max_body_;
};

}  // namespace

std::string_view HttpResponse::header(std::string_view name) const noexcept {
    for (const auto& [key, value] : headers) {
        if (iequals(key, name)) return value;
    }
    return {};
}

std::shared_ptr<HttpTransport> make_curl_transport(std::size_t max_response_bytes) {
    return std::make_shared<CurlTransport>(max_response_bytes);
}

}  // namespace planner
