// The log sinks: one line per call, levels, and the rate limiter that keeps floods off the disk.

#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <planner/log.hpp>
#include <planner/testing.hpp>

using namespace planner;
using namespace planner::testing;
using namespace std::chrono_literals;

namespace {

/// Captures what a FILE*-based sink writes.
class CapturedFile {
  public:
    CapturedFile() : file_(std::tmpfile()) {}
    ~CapturedFile() { std::fclose(file_); }
    std::FILE* get() const { return file_; }
    std::string text() const {
        std::fflush(file_);
        std::rewind(file_);
        std::string out;
        char buf[4096];
        std::size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, file_)) > 0) out.append(buf, n);
        return out;
    }

  private:
    std::FILE* file_;
};

const ManualClock kClock;

/// Records, in order, the events it is given and each flush() as "<flush>".
class FlushRecordingSink final : public LogSink {
  public:
    void log(LogLevel, std::string_view event, const nlohmann::json&) override {
        std::lock_guard lock(mutex_);
        seen_.emplace_back(event);
    }
    void flush() override {
        std::lock_guard lock(mutex_);
        seen_.emplace_back("<flush>");
    }
    std::vector<std::string> seen() const {
        std::lock_guard lock(mutex_);
        return seen_;
    }

  private:
    mutable std::mutex mutex_;
    std::vector<std::string> seen_;
};

}  // namespace

TEST_CASE("json lines sink writes one object per line with ts level and event first", "[log]") {
    CapturedFile out;
    JsonLinesLogSink sink(out.get(), LogLevel::debug, kClock.wall_source());
    sink.log(LogLevel::info, "proposal_written",
             {{"action_id", "plan-1"}, {"reason", "two\nlines"}, {"level", "forged"}});
    const auto text = out.text();
    CHECK(text.starts_with(
        R"({"ts":"2026-05-28T20:26:40.000Z","level":"info","event":"proposal_written",)"));
    CHECK(text.find('\n') == text.size() - 1);
    const auto j = nlohmann::json::parse(text);
    CHECK(j["action_id"] == "plan-1");
    CHECK(j["level"] == "info");
    CHECK(j["_level"] == "forged");
}

namespace {

/// The JSON line as the sink wrote it before it skipped copying the fields: every field copied
/// into one object (a reserved key renamed with `_`), ts/level/event first, then the rest in
/// nlohmann's key order, each value dumped on its own.
std::string reference_json_line(const std::string& ts, LogLevel level, std::string_view event,
                                const nlohmann::json& fields) {
    const auto dump = [](const nlohmann::json& v) {
        return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    };
    const auto reserved = [](const std::string& k) {
        return k == "ts" || k == "level" || k == "event";
    };
    nlohmann::json line = nlohmann::json::object();
    line["ts"] = ts;
    line["level"] = to_string(level);
    line["event"] = event;
    if (fields.is_object()) {
        for (const auto& [key, value] : fields.items()) {
            line[reserved(key) ? "_" + key : key] = value;
        }
    } else if (!fields.is_null()) {
        line["fields"] = fields;
    }
    std::string text = "{";
    for (const std::string key : {"ts", "level", "event"}) {
        text += "\"" + key + "\":" + dump(line[key]) + ",";
    }
    for (const auto& [key, value] : line.items()) {
        if (reserved(key)) continue;
        text += dump(key) + ":" + dump(value) + ",";
    }
    text.back() = '}';
    return text + "\n";
}

}  // namespace

TEST_CASE("json lines sink writes byte for byte the line of the general form", "[log]") {
    const std::string bad_utf8 = "caf\xc3 \xff end";
    const std::vector<nlohmann::json> fields_cases = {
        nullptr,
        nlohmann::json::object(),
        {{"action_id", "plan-1"}, {"confidence", 0.9}, {"attempts", 1}, {"ok", true}},
        {{"key", "piha/mosquitto"}, {"policy_corrections", {"a", "b\"c"}}, {"n", nullptr}},
        {{"nested", {{"z", 1}, {"a", {1, 2.5, "x"}}}}, {"_ts", "not reserved"}},
        {{"reason", "two\nlines\tand \"quotes\" and \\ and \u00e9\u2603"}, {"A", -1}},
        {{"bad", bad_utf8}, {bad_utf8, "key with invalid UTF-8"}},
        {{"\x01ctl", "\x7f"}, {"big", 18446744073709551615ULL}, {"neg", -1.5e300}},
        {{"ts", "forged"}, {"x", 1}},               // reserved: renamed
        {{"event", "forged"}, {"_event", "mine"}},  // renamed onto an existing key
        {{"level", 1}, {"ts", 2}, {"event", 3}},    // all three
        nlohmann::json::array({1, 2}),              // not an object: under "fields"
        "just text",
        42,
    };
    const std::vector<std::string> events = {
        "proposal_written", "with \"quote\"", "line\nbreak", bad_utf8, "", "caf\u00e9"};
    for (const auto& fields : fields_cases) {
        for (const auto& event : events) {
            CapturedFile out;
            JsonLinesLogSink sink(out.get(), LogLevel::debug, kClock.wall_source());
            sink.log(LogLevel::warn, event, fields);
            const auto shown =
                fields.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
            CAPTURE(shown, event);
            CHECK(out.text() ==
                  reference_json_line("2026-05-28T20:26:40.000Z", LogLevel::warn, event, fields));
        }
    }
}

TEST_CASE("sinks drop lines below their level", "[log]") {
    CapturedFile out;
    JsonLinesLogSink sink(out.get(), LogLevel::warn, kClock.wall_source());
    sink.log(LogLevel::debug, "a", {});
    sink.log(LogLevel::info, "b", {});
    sink.log(LogLevel::warn, "c", {});
    sink.log(LogLevel::error, "d", {});
    const auto text = out.text();
    CHECK(std::count(text.begin(), text.end(), '\n') == 2);
    CHECK(text.find("\"c\"") != std::string::npos);
}

TEST_CASE("text sink is readable and keeps one line per call", "[log]") {
    CapturedFile out;
    TextLogSink sink(out.get(), LogLevel::info, kClock.wall_source());
    sink.log(LogLevel::warn, "chain_failed",
             {{"key", "piha/mosquitto"}, {"error", "connection refused\nagain"}, {"n", 3}});
    CHECK(out.text() ==
          "2026-05-28T20:26:40.000Z WARN  chain_failed error=\"connection refused\\nagain\" "
          "key=piha/mosquitto n=3\n");
}

TEST_CASE("journal priorities put the sd-daemon <N> before every line of both sinks", "[log]") {
    CapturedFile json_out;
    CapturedFile text_out;
    JsonLinesLogSink json_sink(json_out.get(), LogLevel::debug, kClock.wall_source(), true);
    TextLogSink text_sink(text_out.get(), LogLevel::debug, kClock.wall_source(), true);
    for (LogSink* sink : {static_cast<LogSink*>(&json_sink), static_cast<LogSink*>(&text_sink)}) {
        sink->log(LogLevel::error, "e", {});
        sink->log(LogLevel::warn, "w", {});
        sink->log(LogLevel::info, "i", {});
        sink->log(LogLevel::debug, "d", {});
    }
    const std::vector<std::string> priorities = {"<3>", "<4>", "<6>", "<7>"};
    for (const auto* out : {&json_out, &text_out}) {
        std::vector<std::string> lines;
        std::string all = out->text();
        for (std::size_t start = 0; start < all.size();) {
            const auto nl = all.find('\n', start);
            lines.push_back(all.substr(start, nl - start));
            start = nl + 1;
        }
        REQUIRE(lines.size() == 4);
        for (std::size_t i = 0; i < 4; ++i) {
            INFO(lines[i]);
            CHECK(lines[i].starts_with(priorities[i]));
            // The rest of the line is the unprefixed format: JSON stays parseable after <N>.
            CHECK(lines[i].find('<', 1) == std::string::npos);
        }
        if (out == &json_out) CHECK(nlohmann::json::parse(lines[1].substr(3))["event"] == "w");
    }
    CHECK(text_out.text().starts_with("<3>2026-05-28T20:26:40.000Z ERROR e\n"));
}

TEST_CASE("without journal priorities no line starts with a priority", "[log]") {
    CapturedFile out;
    TextLogSink sink(out.get(), LogLevel::debug, kClock.wall_source());
    sink.log(LogLevel::warn, "w", {});
    CHECK(out.text() == "2026-05-28T20:26:40.000Z WARN  w\n");
}

TEST_CASE("log levels parse and print", "[log]") {
    CHECK(parse_log_level("debug") == LogLevel::debug);
    CHECK(parse_log_level("warning") == LogLevel::warn);
    CHECK(parse_log_level("error") == LogLevel::error);
    CHECK_FALSE(parse_log_level("loud"));
    CHECK(to_string(LogLevel::warn) == "warn");
}

TEST_CASE("rate limiter suppresses a flood and reports the count", "[log]") {
    RecordingLogSink inner;
    ManualClock clock;
    RateLimitedLogSink limited(inner, {.lines_per_window = 3, .window = 1s}, clock.steady_source());
    for (int i = 0; i < 1000; ++i) limited.log(LogLevel::warn, "skip_malformed", {{"i", i}});
    CHECK(inner.lines().size() == 3);
    CHECK(limited.suppressed_total() == 997);
    clock.advance(1s);
    limited.log(LogLevel::warn, "skip_malformed", {{"i", 1000}});
    const auto lines = inner.lines();
    REQUIRE(lines.size() == 5);
    CHECK(lines[3].event == "log_suppressed");
    CHECK(lines[3].fields["suppressed_event"] == "skip_malformed");
    CHECK(lines[3].fields["suppressed"] == 997);
    CHECK(lines[3].level == LogLevel::warn);
    CHECK(lines[4].fields["i"] == 1000);
}

TEST_CASE("rate limiter counts each event name on its own", "[log]") {
    RecordingLogSink inner;
    ManualClock clock;
    RateLimitedLogSink limited(inner, {.lines_per_window = 2, .window = 1s}, clock.steady_source());
    for (int i = 0; i < 10; ++i) limited.log(LogLevel::warn, "skip_malformed", {});
    limited.log(LogLevel::info, "proposal_written", {});
    CHECK(inner.count("proposal_written") == 1);
    CHECK(inner.count("skip_malformed") == 2);
}

TEST_CASE("rate limiter flush reports pending counts before exit", "[log]") {
    RecordingLogSink inner;
    ManualClock clock;
    RateLimitedLogSink limited(inner, {.lines_per_window = 1, .window = 1s}, clock.steady_source());
    limited.log(LogLevel::debug, "skip_coalesced", {});
    limited.log(LogLevel::debug, "skip_coalesced", {});
    limited.flush();
    REQUIRE(inner.count("log_suppressed") == 1);
    CHECK(inner.lines().back().fields["suppressed"] == 1);
    limited.flush();  // nothing new to report
    CHECK(inner.count("log_suppressed") == 1);
}

TEST_CASE("enabled tells callers which levels a sink keeps", "[log]") {
    CapturedFile out;
    JsonLinesLogSink json_sink(out.get(), LogLevel::info, kClock.wall_source());
    TextLogSink text_sink(out.get(), LogLevel::warn, kClock.wall_source());
    CHECK_FALSE(json_sink.enabled(LogLevel::debug));
    CHECK(json_sink.enabled(LogLevel::info));
    CHECK_FALSE(text_sink.enabled(LogLevel::info));
    CHECK(text_sink.enabled(LogLevel::error));
    CHECK_FALSE(NullLogSink{}.enabled(LogLevel::error));
    // The rate limiter filters nothing by level: it answers for the sink it writes to.
    RateLimitedLogSink limited(json_sink, {}, kClock.steady_source());
    CHECK_FALSE(limited.enabled(LogLevel::debug));
    CHECK(limited.enabled(LogLevel::warn));
    // A sink that does not override enabled() is asked for every line, as before.
    RecordingLogSink recorder;
    CHECK(recorder.enabled(LogLevel::debug));
}

TEST_CASE("flush through the LogSink interface reaches the sink underneath", "[log]") {
    FlushRecordingSink inner;
    RateLimitedLogSink limited(inner, {.lines_per_window = 0}, kClock.steady_source());
    limited.log(LogLevel::warn, "skip_malformed", {});  // suppressed at once
    LogSink& sink = limited;
    sink.flush();
    // The pending count goes out first, then the sink it was written to is flushed.
    CHECK(inner.seen() == std::vector<std::string>{"log_suppressed", "<flush>"});

    // Every library sink takes a flush through the interface; the stream sinks keep their lines.
    CapturedFile out;
    JsonLinesLogSink json_sink(out.get(), LogLevel::info, kClock.wall_source());
    TextLogSink text_sink(out.get(), LogLevel::info, kClock.wall_source());
    NullLogSink null_sink;
    RecordingLogSink recorder;  // a sink without an override gets the no-op default
    json_sink.log(LogLevel::info, "a", {});
    text_sink.log(LogLevel::info, "b", {});
    recorder.log(LogLevel::info, "c", {});
    for (LogSink* each : std::vector<LogSink*>{&json_sink, &text_sink, &null_sink, &recorder}) {
        each->flush();
    }
    const auto text = out.text();
    CHECK(std::count(text.begin(), text.end(), '\n') == 2);
    CHECK(recorder.lines().size() == 1);
}
