#pragma once

#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace planner::detail {

/// Howard Hinnant's days_from_civil: exact for every proleptic Gregorian date, no time zone
/// database involved, so the same input gives the same epoch on every machine.
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
    y -= m <= 2 ? 1 : 0;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct CivilDate {
    std::int64_t year;
    unsigned month;
    unsigned day;
};

constexpr CivilDate civil_from_days(std::int64_t z) noexcept {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return {y + (m <= 2 ? 1 : 0), m, d};
}

constexpr bool is_leap_year(std::int64_t y) noexcept {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

constexpr unsigned days_in_month(std::int64_t y, unsigned m) noexcept {
    constexpr std::array<unsigned, 12> kDays{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap_year(y) ? 29 : kDays[m - 1];
}

/// Parses ISO-8601 / RFC 3339 date-times as agents send them: `2026-05-27T12:00:00Z`,
/// `...T12:00:00.123+02:00`, `...T12:00:00-0530`, a space instead of `T`, or no offset (taken
/// as UTC, the only zone a homelab's agents agree on). Returns epoch seconds, or nullopt for
/// anything else.
inline std::optional<double> parse_iso8601(std::string_view s) noexcept {
    std::size_t i = 0;
    auto digits = [&](std::size_t n, unsigned& out) -> bool {
        if (i + n > s.size()) return false;
        unsigned v = 0;
        for (std::size_t k = 0; k < n; ++k) {
            const char c = s[i + k];
            if (c < '0' || c > '9') return false;
            v = v * 10 + static_cast<unsigned>(c - '0');
        }
        out = v;
        i += n;
        return true;
    };
    auto expect = [&](char c) -> bool {
        if (i < s.size() && s[i] == c) {
            ++i;
            return true;
        }
        return false;
    };
    unsigned year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    if (!digits(4, year) || !expect('-') || !digits(2, month) || !expect('-') || !digits(2, day)) {
        return std::nullopt;
    }
    if (i >= s.size() || (s[i] != 'T' && s[i] != 't' && s[i] != ' ')) return std::nullopt;
    ++i;
    if (!digits(2, hour) || !expect(':') || !digits(2, minute)) return std::nullopt;
    if (expect(':') && !digits(2, second)) return std::nullopt;
    double fraction = 0.0;
    if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
        ++i;
        double scale = 0.1;
        std::size_t n = 0;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
            fraction += (s[i] - '0') * scale;
            scale /= 10;
            ++i;
            ++n;
        }
        if (n == 0) return std::nullopt;
    }
    int offset_seconds = 0;
    if (i < s.size()) {
        if (s[i] == 'Z' || s[i] == 'z') {
            ++i;
        } else if (s[i] == '+' || s[i] == '-') {
            const int sign = s[i] == '-' ? -1 : 1;
            ++i;
            unsigned oh = 0, om = 0;
            if (!digits(2, oh)) return std::nullopt;
            expect(':');
            if (!digits(2, om)) return std::nullopt;
            if (oh > 23 || om > 59) return std::nullopt;
            offset_seconds = sign * static_cast<int>(oh * 3600 + om * 60);
        } else {
            return std::nullopt;
        }
    }
    if (i != s.size()) return std::nullopt;
    if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 ||
        minute > 59 || second > 60) {
        return std::nullopt;
    }
    const std::int64_t days = days_from_civil(year, month, day);
    const std::int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;
    return static_cast<double>(secs) + fraction;
}

inline double to_epoch_seconds(std::chrono::system_clock::time_point tp) noexcept {
    return std::chrono::duration<double>(tp.time_since_epoch()).count();
}

/// `2026-11-28T03:35:45.123Z`: UTC with milliseconds, what the executor and humans read.
inline std::string format_iso8601_utc(std::chrono::system_clock::time_point tp) {
    using namespace std::chrono;
    const auto ms_total = duration_cast<milliseconds>(tp.time_since_epoch()).count();
    std::int64_t days = ms_total / 86'400'000;
    std::int64_t ms_of_day = ms_total % 86'400'000;
    if (ms_of_day < 0) {
        ms_of_day += 86'400'000;
        --days;
    }
    const CivilDate date = civil_from_days(days);
    const auto secs = ms_of_day / 1000;
    if (date.year >= 0 && date.year <= 9999) {
        // Every log line and file carries one: digits by hand, as snprintf would print them.
        std::string out = "0000-00-00T00:00:00.000Z";
        const auto put = [&out](std::size_t at, std::int64_t value, int digits) {
            for (int i = digits - 1; i >= 0; --i, value /= 10) {
                out[at + static_cast<std::size_t>(i)] = static_cast<char>('0' + value % 10);
            }
        };
        put(0, date.year, 4);
        put(5, date.month, 2);
        put(8, date.day, 2);
        put(11, secs / 3600, 2);
        put(14, secs / 60 % 60, 2);
        put(17, secs % 60, 2);
        put(20, ms_of_day % 1000, 3);
        return out;
    }
    std::array<char, 40> buf{};
    std::snprintf(buf.data(), buf.size(), "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                  static_cast<long long>(date.year), date.month, date.day,
                  static_cast<long long>(secs / 3600), static_cast<long long>(secs / 60 % 60),
                  static_cast<long long>(secs % 60), static_cast<long long>(ms_of_day % 1000));
    return buf.data();
}

/// `YYYY-MM-DD` in UTC: the events directory's day folder.
inline std::string format_utc_date(std::chrono::system_clock::time_point tp) {
    return format_iso8601_utc(tp).substr(0, 10);
}

}  // namespace planner::detail
