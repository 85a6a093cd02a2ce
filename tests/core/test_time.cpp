#include <chrono>
#include <cstdio>
#include <string>

#include <catch2/catch.hpp>

#include <planner/detail/time.hpp>

using namespace planner::detail;

TEST_CASE("civil date round trip", "[time]") {
    for (std::int64_t days : {-719468LL, -1LL, 0LL, 1LL, 10957LL, 20600LL, 2932896LL}) {
        const auto c = civil_from_days(days);
        CHECK(days_from_civil(c.year, c.month, c.day) == days);
    }
    CHECK(days_from_civil(1970, 1, 1) == 0);
    CHECK(days_from_civil(2000, 3, 1) == 11017);
}

TEST_CASE("format iso8601 utc", "[time]") {
    using namespace std::chrono;
    const system_clock::time_point tp{milliseconds{1'779'883'200'250LL}};
    CHECK(format_iso8601_utc(tp) == "2026-05-27T12:00:00.250Z");
    CHECK(format_utc_date(tp) == "2026-05-27");
    CHECK(format_iso8601_utc(system_clock::time_point{}) == "1970-01-01T00:00:00.000Z");
}

TEST_CASE("format iso8601 utc writes what printf would, in every field and at the edges",
          "[time]") {
    using namespace std::chrono;
    const auto printf_form = [](long long ms) {
        long long days = ms / 86'400'000, of_day = ms % 86'400'000;
        if (of_day < 0) {
            of_day += 86'400'000;
            --days;
        }
        const auto d = civil_from_days(days);
        const long long secs = of_day / 1000;
        char buf[40];
        std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                      static_cast<long long>(d.year), d.month, d.day, secs / 3600, secs / 60 % 60,
                      secs % 60, of_day % 1000);
        return std::string(buf);
    };
    // system_clock counts nanoseconds in 64 bits here: years 1678 to 2261 are what it holds.
    for (long long ms :
         {0LL, -1LL, 1LL, 999LL, 86'399'999LL, 1'779'883'200'250LL, 951'868'799'999LL,
          4'107'542'399'999LL, -9'000'000'000'000LL, 9'000'000'000'000LL}) {
        CAPTURE(ms);
        CHECK(format_iso8601_utc(system_clock::time_point{milliseconds{ms}}) == printf_form(ms));
    }
    for (long long ms = -5'000'000'000'000LL; ms < 5'000'000'000'000LL; ms += 7'919'000'123LL) {
        CAPTURE(ms);
        CHECK(format_iso8601_utc(system_clock::time_point{milliseconds{ms}}) == printf_form(ms));
    }
}

TEST_CASE("format and parse agree", "[time]") {
    using namespace std::chrono;
    for (long long ms : {0LL, 951'782'400'000LL, 1'779'883'200'999LL, 4'102'444'800'000LL}) {
        const system_clock::time_point tp{milliseconds{ms}};
        const auto parsed = parse_iso8601(format_iso8601_utc(tp));
        REQUIRE(parsed);
        CHECK(*parsed == Approx(static_cast<double>(ms) / 1000.0));
    }
}

TEST_CASE("leap years", "[time]") {
    CHECK(is_leap_year(2024));
    CHECK(is_leap_year(2000));
    CHECK_FALSE(is_leap_year(1900));
    CHECK(days_in_month(2023, 2) == 28);
    CHECK(days_in_month(2024, 2) == 29);
    CHECK_FALSE(parse_iso8601("2023-02-29T00:00:00Z"));
}
