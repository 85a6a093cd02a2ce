/// The libcurl transport against a loopback server: statuses, headers, limits and failures.

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include <planner/http_transport.hpp>

#include "support/provider_server.hpp"

using namespace std::chrono_literals;
using planner::HttpFailure;
using planner::HttpRequest;
using planner::testing::ProviderServer;

namespace {
HttpRequest request_to(const std::string& url, std::chrono::milliseconds timeout = 2s) {
    HttpRequest r;
    r.url = url;
    r.headers = {{"Content-Type", "application/json"}, {"X-Test", "yes"}};
    r.body = R"({"hello":"world"})";
    r.timeout = timeout;
    return r;
}
}  // namespace

TEST_CASE("curl posts the body and headers and returns status, body and headers", "[curl]") {
    ProviderServer server;
    server.script({{418, R"({"teapot":true})", {{"Retry-After", "7"}}, false}});
    const auto response = planner::make_curl_transport()->post(request_to(server.url() + "/x"));
    CHECK(response.failure == HttpFailure::none);
    CHECK(response.status == 418);
    CHECK(response.body == R"({"teapot":true})");
    CHECK(response.header("retry-after") == "7");
    CHECK(response.header("RETRY-AFTER") == "7");
    CHECK(response.header("x-missing").empty());
    const auto received = server.requests().at(0);
    CHECK(received.path == "/x");
    CHECK(received.body == R"({"hello":"world"})");
    CHECK(received.header("X-Test") == "yes");
}

TEST_CASE("curl enforces the total timeout", "[curl]") {
    ProviderServer server;
    server.script({planner::testing::hang()});
    const auto started = std::chrono::steady_clock::now();
    const auto response =
        planner::make_curl_transport()->post(request_to(server.url() + "/slow", 300ms));
    const auto elapsed = std::chrono::steady_clock::now() - started;
    CHECK(response.failure == HttpFailure::timeout);
    CHECK(response.status == 0);
    CHECK(elapsed >= 290ms);
    CHECK(elapsed < 1500ms);
}

TEST_CASE("curl reports a refused connection as a transport failure", "[curl]") {
    const auto url = "http://127.0.0.1:" + std::to_string(planner::testing::closed_port());
    const auto response = planner::make_curl_transport()->post(request_to(url));
    CHECK(response.failure == HttpFailure::transport);
    CHECK_THAT(response.error, Catch::Contains("connect", Catch::CaseSensitive::No));
}

TEST_CASE("curl refuses bodies above the cap", "[curl]") {
    ProviderServer server;
    server.script(
        {{200, std::string(5000, 'x'), {}, false}, {200, std::string(900, 'y'), {}, false}});
    const auto transport = planner::make_curl_transport(1000);
    const auto big = transport->post(request_to(server.url()));
    CHECK(big.failure == HttpFailure::too_large);
    CHECK_THAT(big.error, Catch::Contains("larger than 1000 bytes"));
    const auto small = transport->post(request_to(server.url()));
    CHECK(small.failure == HttpFailure::none);
    CHECK(small.body.size() == 900);
}

TEST_CASE("curl follows no redirect and speaks only http and https", "[curl]") {
    ProviderServer server;
    server.script({{302, "", {{"Location", "http://127.0.0.1:1/elsewhere"}}, false}});
    const auto transport = planner::make_curl_transport();
    const auto redirect = transport->post(request_to(server.url()));
    CHECK(redirect.failure == HttpFailure::none);
    CHECK(redirect.status == 302);
    CHECK(server.requests().size() == 1);

    const auto file = transport->post(request_to("file:///etc/passwd"));
    CHECK(file.failure == HttpFailure::transport);
    CHECK(file.body.empty());
}

TEST_CASE("a request's body reaches the server and its answer comes back", "[curl]") {
    ProviderServer server;
    server.script({{200, R"({"ok":true})", {}, false}});
    const auto transport = planner::make_curl_transport(planner::kDefaultMaxResponseBytes);
    const auto response = transport->post(request_to(server.url() + "/again"));
    CHECK(response.failure == HttpFailure::none);
    CHECK(response.status == 200);
    CHECK(response.body == R"({"ok":true})");
    CHECK(server.requests().at(0).body == R"({"hello":"world"})");
}
