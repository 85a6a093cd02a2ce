// Adds one health event to the planner's stream, as a monitoring script would:
//   producer [redis-host] [port]
// The stream is bounded (MAXLEN ~ 100000) so it never grows without limit; see docs/scaling.md.

#include <hiredis/hiredis.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

int main(int argc, char** argv) {
    const char* host = argc > 1 ? argv[1] : "127.0.0.1";
    const int port = argc > 2 ? std::atoi(argv[2]) : 6379;
    redisContext* c = redisConnect(host, port);
    if (c == nullptr || c->err != 0) {
        std::fprintf(stderr, "producer: cannot connect to %s:%d\n", host, port);
        return 1;
    }
    const std::string event = nlohmann::json{
        {"type", "service_unhealthy"},
        {"node", "piha"},
        {"service", "pihole"},
        {"severity", "error"}}.dump();
    auto* reply = static_cast<redisReply*>(redisCommand(
        c, "XADD health_events MAXLEN ~ 100000 * data %b", event.data(), event.size()));
    // The entry id is Redis's acknowledgement: from here on the event is the planner's.
    const bool ok = reply != nullptr && reply->type == REDIS_REPLY_STRING;
    if (ok) std::printf("%s\n", reply->str);
    if (reply != nullptr) freeReplyObject(reply);
    redisFree(c);
    return ok ? 0 : 1;
}
