/// The baseline subscriber: hiredis, blocking reads, counts messages and does nothing else. Its
/// drain rate is the physical limit of this Redis on this machine, measured in the same run as
/// the planner so that both see the same load.
///
/// Exits after `--expect` messages, or `--idle-ms` after the last message, and prints one JSON
/// object: the count and the CLOCK_MONOTONIC times of the first and last message.

#include <cstdio>
#include <string>
#include <vector>

#include <hiredis/hiredis.h>

#include "bench_common.hpp"

int main(int argc, char** argv) try {
    bench::Args args(argc, argv);
    const int port = static_cast<int>(args.number("--port", 6379));
    const long expect = args.number("--expect", 0);
    const long idle_ms = args.number("--idle-ms", 10'000);
    args.finish();

    timeval connect_tv{5, 0};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", port, connect_tv);
    if (c == nullptr || c->err != 0) throw std::runtime_error("cannot connect to Redis");
    // The same channels as planner-run, so Redis does the same fan-out work for both.
    auto* sub = static_cast<redisReply*>(redisCommand(c, "SUBSCRIBE health_events world_updates"));
    if (sub == nullptr) throw std::runtime_error("SUBSCRIBE failed");
    freeReplyObject(sub);
    void* raw = nullptr;
    if (redisGetReply(c, &raw) != REDIS_OK) throw std::runtime_error("SUBSCRIBE failed");
    freeReplyObject(raw);
    // A read timeout ends the run: hiredis 0.14 cannot continue after one, and need not.
    const timeval idle_tv{idle_ms / 1000, static_cast<long>(idle_ms % 1000) * 1000};
    redisSetTimeout(c, idle_tv);

    long count = 0;
    std::int64_t first_ns = 0;
    std::int64_t last_ns = 0;
    while (expect == 0 || count < expect) {
        raw = nullptr;
        if (redisGetReply(c, &raw) != REDIS_OK || raw == nullptr) break;
        auto* reply = static_cast<redisReply*>(raw);
        if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 3) {
            last_ns = bench::now_ns();
            if (count == 0) first_ns = last_ns;
            ++count;
        }
        freeReplyObject(reply);
    }
    redisFree(c);
    const nlohmann::json out = {{"count", count}, {"first_ns", first_ns}, {"last_ns", last_ns}};
    std::printf("%s\n", out.dump().c_str());
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "bench_count_sub: %s\n", e.what());
    return 2;
}
