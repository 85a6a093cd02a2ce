#include "planner/redis_stream_producer.hpp"

#include <stdexcept>
#include <vector>

#include "redis_connection.hpp"

namespace planner {

struct RedisStreamProducer::Connection {
    detail::RedisContextPtr context;
};

RedisStreamProducer::RedisStreamProducer(RedisStreamProducerOptions options)
    : options_(std::move(options)), connection_(std::make_unique<Connection>()) {}

RedisStreamProducer::~RedisStreamProducer() = default;

std::string RedisStreamProducer::add(std::string_view stream, std::string_view data) {
    std::vector<std::string> args{"XADD", std::string(stream)};
    if (options_.max_len > 0) {
        args.insert(args.end(), {"MAXLEN", "~", std::to_string(options_.max_len)});
    }
    args.insert(args.end(), {"*", "data", std::string(data)});
    std::lock_guard lock(mutex_);
    std::string last_error;
    // A connection idle since the last call may have been closed: one fresh try after that.
    for (int attempt = 0; attempt < 2; ++attempt) {
        try {
            if (!connection_->context) {
                connection_->context = detail::redis_connect(options_.url, options_.timeout);
            }
            const auto reply = detail::redis_command(connection_->context.get(), args, "XADD");
            if (reply->type != REDIS_REPLY_STRING) {
                throw std::runtime_error("XADD to " + std::string(stream) +
                                         ": Redis answered without an entry id");
            }
            return std::string(detail::reply_text(reply.get()));
        } catch (const detail::ConnectionLost& e) {
            connection_->context.reset();
            last_error = e.what();
        }
    }
    throw std::runtime_error("XADD to " + std::string(stream) + " on " + options_.url.redacted() +
                             " failed: " + last_error);
}

}  // namespace planner
