/// The load generator: publishes health events into Redis, pipelined, from its own process so
/// that publishing does not compete with the measured subscriber for the same thread.
///
/// Prints one JSON object on stdout: start and end (CLOCK_MONOTONIC ns, comparable with the
/// subscribers' times), the count, and the sum of receivers Redis reported per PUBLISH, which
/// proves every subscriber was attached for every event.

#include <cstdio>
#include <string>
#include <thread>

#include <hiredis/hiredis.h>

#include "bench_common.hpp"

namespace {

/// One event of the requested kind. Benign events rotate over a few nodes; `cooldown` sends
/// every event for one node/service (the first one plans, the rest are suppressed); `storm`
/// rotates actionable events over `services` services of one node.
std::string make_event(const std::string& mode, long i, long services, const std::string& prefix) {
    char buf[512];
    int n = 0;
    if (mode == "benign") {
        static const char* const kNodes[] = {"piha", "solaria", "vps", "chelsty-infra"};
        n = std::snprintf(buf, sizeof buf,
                          R"({"node":"%s","service":"node-agent","type":"heartbeat",)"
                          R"("severity":"info","timestamp":1780000000,)"
                          R"("payload":{"seq":%ld,"uptime_s":86400,"load":0.42}})",
                          kNodes[i % 4], i);
    } else if (mode == "cooldown") {
        n = std::snprintf(buf, sizeof buf,
                          R"({"node":"piha","service":"mosquitto","type":"service_unhealthy",)"
                          R"("severity":"error","timestamp":1780000000,)"
                          R"("payload":{"seq":%ld,"exit_code":137,"restarts":3}})",
                          i);
    } else if (mode == "storm") {
        n = std::snprintf(buf, sizeof buf,
                          R"({"node":"piha","service":"%s%02ld","type":"container_unhealthy",)"
                          R"("severity":"error","timestamp":1780000000,)"
                          R"("payload":{"seq":%ld,"reason":"node rebooted"}})",
                          prefix.c_str(), i % services, i);
    } else {
        throw std::invalid_argument("--mode must be benign, cooldown or storm");
    }
    return std::string(buf, static_cast<std::size_t>(n));
}

}  // namespace

int main(int argc, char** argv) try {
    bench::Args args(argc, argv);
    const int port = static_cast<int>(args.number("--port", 6379));
    const long count = args.number("--count", 1000);
    const std::string channel = args.text("--channel", "health_events");
    const std::string mode = args.text("--mode", "benign");
    const long services = args.number("--services", 50);
    const std::string prefix = args.text("--service-prefix", "svc-");
    const long batch = args.number("--batch", 1000);
    /// 0: as fast as Redis takes them; otherwise batches are spread evenly over this time.
    const long spread_ms = args.number("--spread-ms", 0);
    /// An actionable event for this `node/service` after the others: its action file tells
    /// the driver that a subscriber processed everything published before it.
    const std::string sentinel = args.text("--sentinel", "");
    args.finish();

    timeval tv{5, 0};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (c == nullptr || c->err != 0) throw std::runtime_error("cannot connect to Redis");

    // Built before the clock starts: the figure is about delivery, not about snprintf.
    std::vector<std::string> events;
    events.reserve(static_cast<std::size_t>(count) + 1);
    for (long i = 0; i < count; ++i) events.push_back(make_event(mode, i, services, prefix));
    if (!sentinel.empty()) {
        const auto slash = sentinel.find('/');
        events.push_back(R"({"node":")" + sentinel.substr(0, slash) + R"(","service":")" +
                         sentinel.substr(slash + 1) +
                         R"(","type":"service_unhealthy","severity":"error"})");
    }

    const long total = static_cast<long>(events.size());
    const long batches = (total + batch - 1) / batch;
    long long receivers = 0;
    const auto start = bench::now_ns();
    for (long b = 0; b < batches; ++b) {
        if (spread_ms > 0) {
            const auto due = start + spread_ms * 1'000'000 * b / batches;
            while (bench::now_ns() < due)
                std::this_thread::sleep_for(std::chrono::microseconds{100});
        }
        const long first = b * batch;
        const long last = std::min(total, first + batch);
        for (long i = first; i < last; ++i) {
            const auto& e = events[static_cast<std::size_t>(i)];
            redisAppendCommand(c, "PUBLISH %b %b", channel.data(), channel.size(), e.data(),
                               e.size());
        }
        for (long i = first; i < last; ++i) {
            void* raw = nullptr;
            if (redisGetReply(c, &raw) != REDIS_OK || raw == nullptr) {
                throw std::runtime_error(std::string("PUBLISH failed: ") + c->errstr);
            }
            auto* reply = static_cast<redisReply*>(raw);
            if (reply->type == REDIS_REPLY_INTEGER) receivers += reply->integer;
            freeReplyObject(reply);
        }
    }
    const auto end = bench::now_ns();
    redisFree(c);

    const nlohmann::json out = {
        {"published", total},
        {"receivers", receivers},
        {"start_ns", start},
        {"end_ns", end},
        {"rate_per_s", static_cast<double>(total) / bench::seconds_between(start, end)}};
    std::printf("%s\n", out.dump().c_str());
    return 0;
} catch (const std::exception& e) {
    std::fprintf(stderr, "bench_publish: %s\n", e.what());
    return 2;
}
