#include <catch2/catch.hpp>

#include <planner/redis_subscriber.hpp>
#include <planner/url.hpp>

using planner::parse_redis_url;

TEST_CASE("redis url defaults", "[redis_url]") {
    const auto u = parse_redis_url("redis://127.0.0.1");
    CHECK(u.host == "127.0.0.1");
    CHECK(u.port == 6379);
    CHECK(u.db == 0);
    CHECK(u.password.empty());
    CHECK(u.username.empty());
    CHECK(u.unix_socket.empty());
    CHECK(u.redacted() == "redis://127.0.0.1:6379/0");
}

TEST_CASE("redis url with port and db", "[redis_url]") {
    const auto u = parse_redis_url("redis://redis.lan:6380/3");
    CHECK(u.host == "redis.lan");
    CHECK(u.port == 6380);
    CHECK(u.db == 3);
    CHECK(parse_redis_url("redis://h:1/").db == 0);
}

TEST_CASE("redis url with password only", "[redis_url]") {
    for (auto url : {"redis://:s3cret@h:6379/0", "redis://s3cret@h:6379/0"}) {
        const auto u = parse_redis_url(url);
        CHECK(u.username.empty());
        CHECK(u.password == "s3cret");
        CHECK(u.redacted() == "redis://:***@h:6379/0");
    }
}

TEST_CASE("redis url with ACL user and escaped password", "[redis_url]") {
    const auto u = parse_redis_url("redis://planner:p%40ss%3Aw0rd@h/2");
    CHECK(u.username == "planner");
    CHECK(u.password == "p@ss:w0rd");
    CHECK(u.db == 2);
    CHECK(u.redacted() == "redis://planner:***@h:6379/2");
    CHECK(u.redacted().find("p@ss") == std::string::npos);
}

TEST_CASE("redis url with IPv6 host", "[redis_url]") {
    const auto u = parse_redis_url("redis://[::1]:7000/1");
    CHECK(u.host == "::1");
    CHECK(u.port == 7000);
    CHECK(u.redacted() == "redis://[::1]:7000/1");
}

TEST_CASE("unix socket urls", "[redis_url]") {
    const auto u = parse_redis_url("unix:///run/redis/redis.sock");
    CHECK(u.unix_socket == "/run/redis/redis.sock");
    CHECK(u.redacted() == "unix:///run/redis/redis.sock");
    const auto v = parse_redis_url("unix:///tmp/r.sock?db=4&password=pw");
    CHECK(v.db == 4);
    CHECK(v.password == "pw");
    CHECK(v.redacted() == "unix://:***@/tmp/r.sock?db=4");
}

TEST_CASE("malformed redis urls are rejected with a reason", "[redis_url]") {
    struct Case {
        const char* url;
        const char* says;
    };
    for (auto c : {Case{"http://h", "must start with"}, Case{"h:6379", "must start with"},
                   Case{"rediss://h", "TLS"}, Case{"redis://", "no host"},
                   Case{"redis://h:0", "invalid port"}, Case{"redis://h:65536", "invalid port"},
                   Case{"redis://h:abc", "invalid port"}, Case{"redis://h:", "empty port"},
                   Case{"redis://h/x", "database number"}, Case{"redis://[::1", "unterminated"},
                   Case{"unix://relative.sock", "absolute"}, Case{"unix:///s?x=1", "unknown"},
                   Case{"redis://:%zz@h", "%-escape"}}) {
        INFO(c.url);
        try {
            parse_redis_url(c.url);
            FAIL("accepted " << c.url);
        } catch (const std::invalid_argument& e) {
            CHECK_THAT(e.what(), Catch::Contains(c.says));
        }
    }
}

TEST_CASE("errors never contain the password", "[redis_url]") {
    for (auto url :
         {"redis://:hunter2@h:badport", "redis://u:hunter2@h/notadb", "redis://u:hunter2%zz@h"}) {
        try {
            parse_redis_url(url);
            FAIL("accepted " << url);
        } catch (const std::invalid_argument& e) {
            CHECK_THAT(e.what(), !Catch::Contains("hunter2"));
        }
    }
}

TEST_CASE("redis state names", "[redis_url]") {
    CHECK(planner::to_string(planner::RedisState::subscribed) == "subscribed");
    CHECK(planner::to_string(planner::RedisState::disconnected) == "disconnected");
}

TEST_CASE("redact_url masks the password of every URL in a text", "[redis_url][redact]") {
    using planner::redact_url;
    CHECK(redact_url("redis://app:s3cret@h/0") == "redis://app:***@h/0");
    // Without a ':' the user info may itself be the secret (Redis's password-only form).
    CHECK(redact_url("redis://s3cret@h:6379") == "redis://:***@h:6379");
    CHECK(redact_url("ollama/m@http://u:pw@gpu:11434/api") ==
          "ollama/m@http://u:***@gpu:11434/api");
    CHECK(redact_url("GET http://a:b@h1/x failed, then https://tok@h2?q=1#f") ==
          "GET http://a:***@h1/x failed, then https://:***@h2?q=1#f");
    // A password holding '@' is masked whole: the user info ends at the authority's last '@'.
    CHECK(redact_url("http://u:p@ss@h/") == "http://u:***@h/");
    CHECK(redact_url("redis://u:@h") == "redis://u:@h");  // no password, nothing to hide
    // What is not user info stays as it was.
    for (const auto* same :
         {"", "no url here", "ollama/qwen2.5:7b", "http://h/a@b", "http://h?x=a@b",
          "see http://h and mail me@x", "unix:///run/redis.sock", "a://"}) {
        CHECK(redact_url(same) == same);
    }
}

TEST_CASE("the redacted form of a Redis URL reads back as the same URL", "[redis_url][redact]") {
    for (auto text :
         {"redis://planner:p%40ss%3Aw0rd@h/2", "redis://a%3Ab%40c:pw@h:7000/1",
          "redis://%2Fu:x@[::1]:7000/3", "redis://u:@h", "unix://:pw@/tmp/r.sock?db=4"}) {
        INFO(text);
        const auto url = parse_redis_url(text);
        const auto shown = url.redacted();
        const auto back = parse_redis_url(shown);
        CHECK(back.username == url.username);
        CHECK(back.host == url.host);
        CHECK(back.port == url.port);
        CHECK(back.db == url.db);
        CHECK(back.unix_socket == url.unix_socket);
        if (!url.password.empty()) CHECK(back.password == "***");
    }
    // A user name is escaped in the redacted form, so a ':' in it cannot pass for the password.
    CHECK(parse_redis_url("redis://a%3Ab:pw@h").redacted() == "redis://a%3Ab:***@h:6379/0");
}
