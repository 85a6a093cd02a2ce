// Adds one health event to the planner's stream, as a monitoring script would:
//   producer [redis-url]        (default redis://127.0.0.1:6379/0)
// The stream is bounded (MAXLEN ~ 100000 by default) so it never grows without limit; see
// docs/scaling.md.

#include <cstdio>
#include <exception>

#include <planner/health_event.hpp>
#include <planner/redis_stream_producer.hpp>

int main(int argc, char** argv) {
    try {
        planner::RedisStreamProducerOptions options;
        options.url = planner::parse_redis_url(argc > 1 ? argv[1] : "redis://127.0.0.1:6379/0");
        planner::RedisStreamProducer producer(options);
        planner::HealthEvent event;
        event.event_type = "service_unhealthy";
        event.node = "piha";
        event.service = "pihole";
        event.severity = "error";
        const nlohmann::json shape = {{"type", event.event_type},
                                      {"node", event.node},
                                      {"service", event.service},
                                      {"severity", event.severity}};
        // The entry id is Redis's acknowledgement: from here on the event is the planner's.
        std::printf("%s\n", producer.add("health_events", shape.dump()).c_str());
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "producer: %s\n", e.what());
        return 1;
    }
}
