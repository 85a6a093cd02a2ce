// parse_listen_address: the one reading of --http-listen, PLANNER_HTTP_LISTEN and http.listen.

#include <stdexcept>

#include <catch2/catch.hpp>

#include <planner/listen_address.hpp>

using planner::parse_listen_address;

TEST_CASE("listen addresses: IPv4, names, bracketed IPv6, port 0", "[listen-address]") {
    const auto a = parse_listen_address("127.0.0.1:8080");
    CHECK(a.host == "127.0.0.1");
    CHECK(a.port == 8080);
    CHECK(a.to_string() == "127.0.0.1:8080");
    CHECK(parse_listen_address("0.0.0.0:0").port == 0);
    CHECK(parse_listen_address("localhost:65535").host == "localhost");
    const auto v6 = parse_listen_address("[::1]:9100");
    CHECK(v6.host == "::1");
    CHECK(v6.port == 9100);
    CHECK(v6.to_string() == "[::1]:9100");
}

TEST_CASE("bad listen addresses give one line naming the problem", "[listen-address]") {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"8080", "no ':PORT'"},
        {"127.0.0.1", "no ':PORT'"},
        {"127.0.0.1:", "from 0 to 65535"},
        {"127.0.0.1:65536", "from 0 to 65535"},
        {"127.0.0.1:-1", "from 0 to 65535"},
        {"127.0.0.1:80x", "from 0 to 65535"},
        {":8080", "empty address"},
        {"::1:8080", "in brackets"},
        {"[::1:8080", "no ']'"},
        {"[::1]8080", "no ':PORT'"},
        {"a b:80", "space or control"},
        {"user@host:80", "bad address"},
    };
    for (const auto& [text, why] : cases) {
        INFO(text);
        try {
            parse_listen_address(text);
            FAIL("accepted");
        } catch (const std::invalid_argument& e) {
            const std::string msg = e.what();
            CHECK_THAT(msg, Catch::Contains(why));
            CHECK(msg.find('\n') == std::string::npos);
        }
    }
}
