#include <algorithm>
#include <cctype>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include "curl_library.hpp"
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
    const detail::CurlLibrary* curl;
    void operator()(CURL* h) const noexcept { curl->easy_cleanup(h); }
};
struct SlistDeleter {
    const detail::CurlLibrary* curl;
    void operator()(curl_slist* l) const noexcept { curl->slist_free_all(l); }
};

class CurlTransport final : public HttpTransport {
  public:
    CurlTransport(std::size_t max_response_bytes,
                  std::function<const detail::CurlLibrary&()> library)
        : max_body_(max_response_bytes), library_(std::move(library)) {}

    HttpResponse post(const HttpRequest& request) override {
        const detail::CurlLibrary* curl = nullptr;
        try {
            curl = &library_();
        } catch (const std::exception& e) {
            return failure(HttpFailure::transport, e.what());
        }
        // One handle per call: nothing is shared between threads, and a half-read connection
        // from a timed-out attempt is never reused.
        std::unique_ptr<CURL, EasyDeleter> easy(curl->easy_init(), EasyDeleter{curl});
        Exchange ex;
        ex.max_body = max_body_;
        if (!easy) return failure(HttpFailure::transport, "could not create a curl handle");

        std::unique_ptr<curl_slist, SlistDeleter> headers(nullptr, SlistDeleter{curl});
        for (const auto& [name, value] : request.headers) {
            const std::string line = name + ": " + value;
            curl_slist* appended = curl->slist_append(headers.get(), line.c_str());
            if (!appended) return failure(HttpFailure::transport, "out of memory");
            (void)headers.release();
            headers.reset(appended);
        }

        const long timeout_ms =
            static_cast<long>(std::max<std::int64_t>(1, request.timeout.count()));
        char error_buffer[CURL_ERROR_SIZE] = {};
        CURL* h = easy.get();
        curl->easy_setopt(h, CURLOPT_URL, request.url.c_str());
        curl->easy_setopt(h, CURLOPT_POST, 1L);
        curl->easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
        curl->easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                          static_cast<curl_off_t>(request.body.size()));
        curl->easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
        curl->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM: thread-safe
        curl->easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
        curl->easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
        curl->easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect could carry the key away
        curl->easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl->easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
        curl->easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
        curl->easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(max_body_));
        curl->easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
        curl->easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
        curl->easy_setopt(h, CURLOPT_WRITEDATA, &ex);
        curl->easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
        curl->easy_setopt(h, CURLOPT_HEADERDATA, &ex);
        curl->easy_setopt(h, CURLOPT_USERAGENT, "homelab-planner");

        const CURLcode rc = curl->easy_perform(h);
        if (ex.body_too_large || rc == CURLE_FILESIZE_EXCEEDED) {
            return failure(HttpFailure::too_large,
                           "response larger than " + std::to_string(max_body_) + " bytes");
        }
        if (rc == CURLE_OPERATION_TIMEDOUT) {
            return failure(HttpFailure::timeout,
                           "no answer within " + std::to_string(timeout_ms) + " ms");
        }
        if (rc != CURLE_OK) {
            const std::string detail = error_buffer[0] ? error_buffer : curl->easy_strerror(rc);
            return failure(HttpFailure::transport, detail);
        }
        curl->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &ex.response.status);
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
    std::function<const detail::CurlLibrary&()> library_;
};

}  // namespace

std::string_view HttpResponse::header(std::string_view name) const noexcept {
    for (const auto& [key, value] : headers) {
        if (iequals(key, name)) return value;
    }
    return {};
}

std::shared_ptr<HttpTransport> make_curl_transport(std::size_t max_response_bytes) {
    return detail::make_curl_transport(max_response_bytes, detail::curl_library);
}

namespace detail {

CurlLibrary open_curl_library(const std::string& soname) {
    auto lib = std::make_shared<const SharedLibrary>(soname, "libcurl4");
    CurlLibrary c;
    c.library = lib;
    c.global_init = lib->symbol<decltype(c.global_init)>("curl_global_init");
    c.easy_init = lib->symbol<decltype(c.easy_init)>("curl_easy_init");
    c.easy_cleanup = lib->symbol<decltype(c.easy_cleanup)>("curl_easy_cleanup");
    c.easy_setopt = lib->symbol<decltype(c.easy_setopt)>("curl_easy_setopt");
    c.easy_perform = lib->symbol<decltype(c.easy_perform)>("curl_easy_perform");
    c.easy_getinfo = lib->symbol<decltype(c.easy_getinfo)>("curl_easy_getinfo");
    c.easy_strerror = lib->symbol<decltype(c.easy_strerror)>("curl_easy_strerror");
    c.slist_append = lib->symbol<decltype(c.slist_append)>("curl_slist_append");
    c.slist_free_all = lib->symbol<decltype(c.slist_free_all)>("curl_slist_free_all");
    c.getdate = lib->symbol<decltype(c.getdate)>("curl_getdate");
    return c;
}

const CurlLibrary& curl_library() {
    // A function-local static: initialised once, under the compiler's lock, so
    // curl_global_init (not thread-safe, must precede every handle) runs exactly once. If it
    // throws, the next call tries again.
    static const CurlLibrary curl = [] {
        CurlLibrary c = open_curl_library(kCurlSoname);
        if (c.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            throw std::runtime_error("curl_global_init failed");
        }
        return c;
    }();
    return curl;
}

std::shared_ptr<HttpTransport> make_curl_transport(std::size_t max_response_bytes,
                                                   std::function<const CurlLibrary&()> library) {
    return std::make_shared<CurlTransport>(max_response_bytes, std::move(library));
}

}  // namespace detail

}  // namespace planner
