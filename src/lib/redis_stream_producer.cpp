#include "planner/redis_stream_producer.hpp"

#include <stdexcept>
#include <vector>

#include "redis_connection.hpp"

namespace planner {

struct RedisStreamProducer::Connection {
    Connection(const RedisUrl& url, std::chrono::milliseconds timeout) : client(url, timeout) {}
    detail::RetryingClient client;
};

RedisStreamProducer::RedisStreamProducer(RedisStreamProducerOptions options)
    : options_(std::move(options)),
      connection_(std::make_unique<Connection>(options_.url, options_.timeout)) {}

RedisStreamProducer::~RedisStreamProducer() = default;

std::string RedisStreamProducer::add(std::string_view stream, std::string_view data) {
    std::vector<std::string> args{"XADD", std::string(stream)};
    if (options_.max_len > 0) {
        args.insert(args.end(), {"MAXLEN", "~", std::to_string(options_.max_len)});
    }
    args.insert(args.end(), {"*", "data", std::string(data)});
    const auto reply = connection_->client.command(args, "XADD to " + std::string(stream));
    if (reply->type != REDIS_REPLY_STRING) {
        throw std::runtime_error("XADD to " + std::string(stream) +
                                 ": Redis answered without an entry id");
    }
    return std::string(detail::reply_text(reply.get()));
}

}  // namespace planner
