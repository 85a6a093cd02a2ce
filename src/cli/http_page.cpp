#include "http_page.hpp"

#include <openssl/evp.h>

#include <stdexcept>
#include <string_view>

#include "planner_page.hpp"

namespace planner::cli {

namespace {

/// `'sha256-<base64>'` of the text between `open` and the next `close`: the CSP source that
/// allows exactly that inline block.
std::string inline_hash(std::string_view html, std::string_view open, std::string_view close) {
    const auto start = html.find(open);
    const auto end = start == std::string_view::npos ? start : html.find(close, start);
    if (end == std::string_view::npos) {
        throw std::logic_error("web/index.html has no " + std::string(open) + " block");
    }
    const auto body = html.substr(start + open.size(), end - start - open.size());
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(body.data(), body.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("SHA-256 failed");
    }
    unsigned char encoded[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
    const int n = EVP_EncodeBlock(encoded, digest, static_cast<int>(length));
    return "'sha256-" +
           std::string(reinterpret_cast<const char*>(encoded), static_cast<std::size_t>(n)) + "'";
}

ApprovalPage build() {
    ApprovalPage page;
    page.html = embedded::kApprovalPage;
    // The page's own style and script by hash, requests to this origin only, nothing framed,
    // no forms posted anywhere, no plugins: injected markup could not run or leak anything.
    page.content_security_policy =
        "default-src 'self'; script-src " + inline_hash(page.html, "<script>", "</script>") +
        "; style-src " + inline_hash(page.html, "<style>", "</style>") +
        "; connect-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'";
    return page;
}

}  // namespace

const ApprovalPage& approval_page() {
    static const ApprovalPage page = build();
    return page;
}

}  // namespace planner::cli
