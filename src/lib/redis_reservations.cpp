#include "planner/redis_reservations.hpp"

#include <algorithm>
#include <vector>

#include "redis_connection.hpp"

namespace planner {

namespace {

/// Deletes the key only while this owner holds it: a reservation that expired and was taken
/// by another replica is theirs.
constexpr const char* kReleaseScript =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end "
    "return 0";

std::string ms_text(std::chrono::milliseconds d) {
    return std::to_string(std::max<std::chrono::milliseconds::rep>(d.count(), 1));
}

}  // namespace

struct RedisReservations::Connection {
    Connection(const RedisUrl& url, std::chrono::milliseconds timeout) : client(url, timeout) {}
    detail::RetryingClient client;
};

RedisReservations::RedisReservations(RedisReservationsOptions options)
    : options_(std::move(options)),
      connection_(std::make_unique<Connection>(options_.url, options_.timeout)) {}

RedisReservations::~RedisReservations() = default;

bool RedisReservations::try_reserve(std::string_view key) {
    const auto reply =
        connection_->client.command({"SET", options_.prefix + std::string(key), options_.owner,
                                     "NX", "PX", ms_text(options_.planning_hold)},
                                    "SET NX (reserve)");
    // OK when set; a nil reply when another planner holds the key.
    return reply->type == REDIS_REPLY_STATUS;
}

void RedisReservations::planned(std::string_view key, std::chrono::milliseconds cooldown) {
    const std::string k = options_.prefix + std::string(key);
    if (cooldown.count() <= 0) {
        release(key);
        return;
    }
    // Set whether or not the reservation outlived the plan: the cooldown starts now for all.
    connection_->client.command({"SET", k, options_.owner, "PX", ms_text(cooldown)},
                                "SET PX (cooldown)");
}

void RedisReservations::release(std::string_view key) {
    connection_->client.command(
        {"EVAL", kReleaseScript, "1", options_.prefix + std::string(key), options_.owner},
        "EVAL (release)");
}

}  // namespace planner
