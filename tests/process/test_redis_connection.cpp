// The shared hiredis client code against a real redis-server: an error reply (WRONGTYPE,
// NOSCRIPT, ...) is Redis answering, not a lost connection, so RetryingClient neither
// reconnects nor repeats the command; a connection that really went away is reconnected.

#include <string>

#include <catch2/catch.hpp>

#include "redis_connection.hpp"
#include "support/redis_server.hpp"

using namespace planner;
using namespace planner::testing;
using namespace std::chrono_literals;

namespace {

/// A field of `INFO <section>` (e.g. total_connections_received), read on its own connection.
std::string info_field(const RedisServer& redis, const std::string& section,
                       const std::string& field) {
    auto c = redis.connect();
    REQUIRE(c);
    auto* r = static_cast<redisReply*>(redisCommand(c.get(), "INFO %s", section.c_str()));
    REQUIRE(r != nullptr);
    const std::string text(r->str, r->len);
    freeReplyObject(r);
    const auto at = text.find(field + ":");
    if (at == std::string::npos) return "";
    const auto from = at + field.size() + 1;
    return text.substr(from, text.find('\r', from) - from);
}

long long connections(const RedisServer& redis) {
    // The reading connection counts too: the difference between two readings is one more
    // than the connections made in between.
    return std::stoll(info_field(redis, "stats", "total_connections_received"));
}

}  // namespace

TEST_CASE("redis client: an error reply is thrown at once, without a reconnect or a retry",
          "[redis]") {
    RedisServer redis;
    detail::RetryingClient client(parse_redis_url(redis.url()), 2s);
    client.command({"SET", "planner:test:string", "x"}, "SET");
    const long long before = connections(redis);

    // XADD to a string key: WRONGTYPE, with the connection in perfect health.
    try {
        client.command({"XADD", "planner:test:string", "*", "data", "{}"}, "XADD to a string");
        FAIL("XADD to a string key succeeded");
    } catch (const std::runtime_error& e) {
        CHECK_THAT(e.what(), Catch::Contains("WRONGTYPE"));
        CHECK_THAT(e.what(), Catch::Contains("redis://127.0.0.1:"));
    }
    CHECK(connections(redis) == before + 1);  // only this reading's own connection
    // Sent once (a retry would count two calls and two errors), on the same connection.
    CHECK(info_field(redis, "errorstats", "errorstat_WRONGTYPE") == "count=1");
    CHECK_THAT(info_field(redis, "commandstats", "cmdstat_xadd"), Catch::StartsWith("calls=1,"));
    CHECK(client.command({"GET", "planner:test:string"}, "GET")->type == REDIS_REPLY_STRING);
}

TEST_CASE("redis client: a lost connection is reconnected once per command", "[redis]") {
    RedisServer redis;
    detail::RetryingClient client(parse_redis_url(redis.url()), 2s);
    client.command({"SET", "k", "1"}, "SET");
    redis.stop();
    redis.start();  // the client's connection is gone; the next command finds out and retries
    CHECK(client.command({"SET", "k", "2"}, "SET")->type == REDIS_REPLY_STATUS);
    redis.stop();
    try {
        client.command({"SET", "k", "3"}, "SET");
        FAIL("SET without Redis succeeded");
    } catch (const std::runtime_error& e) {
        CHECK_THAT(e.what(), Catch::StartsWith("SET on redis://127.0.0.1:"));
    }
}
