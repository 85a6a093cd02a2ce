#include "planner/log.hpp"

#include <array>
#include <vector>

#include "planner/detail/json_limits.hpp"
#include "planner/detail/time.hpp"

namespace planner {

namespace {

constexpr std::array<std::string_view, 3> kReservedKeys{"ts", "level", "event"};

bool is_reserved(std::string_view key) {
    for (auto r : kReservedKeys) {
        if (r == key) return true;
    }
    return false;
}

bool needs_quoting(std::string_view s) {
    if (s.empty()) return true;
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || c == '"' || c == '=' || c == '\\' || u == 0x7f) return true;
    }
    return false;
}

}  // namespace

namespace detail {

std::string_view journal_priority_prefix(LogLevel level) noexcept {
    switch (level) {
        case LogLevel::debug:
            return "<7>";
        case LogLevel::info:
            return "<6>";
        case LogLevel::warn:
            return "<4>";
        case LogLevel::error:
            return "<3>";
    }
    return "<6>";
}

StreamLogSinkBase::StreamLogSinkBase(std::FILE* out, LogLevel min_level, WallTimeSource now,
                                     bool journal_priorities)
    : out_(out),
      min_level_(min_level),
      now_(std::move(now)),
      journal_priorities_(journal_priorities) {}

std::string StreamLogSinkBase::timestamp() const {
    return format_iso8601_utc(now_());
}

void StreamLogSinkBase::write_line(LogLevel level, const std::string& line) {
    std::string prefixed;
    if (journal_priorities_) {
        prefixed.reserve(line.size() + 3);
        prefixed += journal_priority_prefix(level);
        prefixed += line;
    }
    const std::string& text = journal_priorities_ ? prefixed : line;
    std::lock_guard lock(mutex_);
    // One fwrite per line, so even another writer on the same FILE* cannot split it.
    std::fwrite(text.data(), 1, text.size(), out_);
    std::fflush(out_);
}

void StreamLogSinkBase::flush() {
    std::lock_guard lock(mutex_);
    std::fflush(out_);
}

}  // namespace detail

JsonLinesLogSink::JsonLinesLogSink(std::FILE* out, LogLevel min_level, WallTimeSource now,
                                   bool journal_priorities)
    : StreamLogSinkBase(out, min_level, std::move(now), journal_priorities) {}

namespace {

/// The general form, for fields that are not an object or that use a reserved key (which is
/// written with a `_` prefix): the line as one JSON object, ts/level/event first.
std::string renamed_line(std::string ts, LogLevel level, std::string_view event,
                         const nlohmann::json& fields) {
    nlohmann::json line = nlohmann::json::object();
    line["ts"] = std::move(ts);
    line["level"] = to_string(level);
    line["event"] = event;
    if (fields.is_object()) {
        for (const auto& [key, value] : fields.items()) {
            line[is_reserved(key) ? "_" + key : key] = value;
        }
    } else if (!fields.is_null()) {
        line["fields"] = fields;
    }
    // nlohmann::json keeps keys sorted; ts/level/event are written first for people who grep.
    // Appends only: GCC 12 at -O3 reports a false -Wrestrict on `"literal" + std::string&&`.
    std::string text = "{";
    for (const auto key : kReservedKeys) {
        text += '"';
        text += key;
        text += "\":";
        text += detail::dump_lenient(line[std::string(key)]);
        text += ',';
    }
    for (const auto& [key, value] : line.items()) {
        if (is_reserved(key)) continue;
        text += detail::dump_lenient(key);
        text += ':';
        text += detail::dump_lenient(value);
        text += ',';
    }
    text.back() = '}';
    text += '\n';
    return text;
}

/// Appends `text` as a JSON string exactly as nlohmann's dump_lenient writes it: printable
/// ASCII without `"` or `\` as it is, anything else through the serializer.
void append_json_string(std::string& out, std::string_view text) {
    if (!detail::is_plain_json_string(text)) {
        out += detail::dump_lenient(nlohmann::json(std::string(text)));
        return;
    }
    out += '"';
    out += text;
    out += '"';
}

bool has_reserved_key(const nlohmann::json& fields) {
    for (const auto key : kReservedKeys) {
        if (fields.contains(key)) return true;
    }
    return false;
}

}  // namespace

void JsonLinesLogSink::log(LogLevel level, std::string_view event, const nlohmann::json& fields) {
    if (!enabled(level)) return;
    const bool plain = fields.is_null() || (fields.is_object() && !has_reserved_key(fields));
    if (!plain) {
        write_line(level, renamed_line(timestamp(), level, event, fields));
        return;
    }
    // ts, level and event first, for people who grep; then the fields as one object, written
    // in place in nlohmann's (sorted) key order: no copy of the fields, no string per field.
    std::string text = "{\"ts\":";
    append_json_string(text, timestamp());
    text += ",\"level\":";
    append_json_string(text, to_string(level));
    text += ",\"event\":";
    append_json_string(text, event);
    if (fields.is_object() && !fields.empty()) {
        const auto brace = text.size();
        if (detail::append_json(text, fields, -1, 0)) {
            text[brace] = ',';  // the fields' '{' becomes the separator, their '}' ends the line
        } else {
            text.resize(brace);
            text += ',';
            text.append(detail::dump_lenient(fields), 1);
        }
    } else {
        text += '}';
    }
    text += '\n';
    write_line(level, text);
}

TextLogSink::TextLogSink(std::FILE* out, LogLevel min_level, WallTimeSource now,
                         bool journal_priorities)
    : StreamLogSinkBase(out, min_level, std::move(now), journal_priorities) {}

void TextLogSink::log(LogLevel level, std::string_view event, const nlohmann::json& fields) {
    if (!enabled(level)) return;
    std::string level_text(to_string(level));
    for (auto& c : level_text) c = static_cast<char>(c - 'a' + 'A');
    level_text.resize(5, ' ');
    std::string text = timestamp() + " " + level_text + " ";
    // The event name comes from code, but quote it anyway so a caller cannot break the line.
    text += needs_quoting(event) ? detail::dump_lenient(std::string(event)) : std::string(event);
    if (fields.is_object()) {
        for (const auto& [key, value] : fields.items()) {
            text += " ";
            text += needs_quoting(key) ? detail::dump_lenient(key) : key;
            text += "=";
            if (value.is_string() && !needs_quoting(value.get_ref<const std::string&>())) {
                text += value.get_ref<const std::string&>();
            } else {
                text += detail::dump_lenient(value);
            }
        }
    }
    text += "\n";
    write_line(level, text);
}

RateLimitedLogSink::RateLimitedLogSink(LogSink& inner, LogRateLimit limit, SteadyTimeSource now)
    : inner_(inner), limit_(limit), now_(std::move(now)) {}

void RateLimitedLogSink::report(LogSink& inner, std::string_view event, const Window& w) {
    inner.log(
        std::max(w.max_suppressed, LogLevel::info), "log_suppressed",
        {{"suppressed_event", event}, {"suppressed", w.suppressed}, {"window_lines", w.lines}});
}

void RateLimitedLogSink::log(LogLevel level, std::string_view event, const nlohmann::json& fields) {
    const auto now = now_();
    std::optional<Window> finished;
    {
        std::lock_guard lock(mutex_);
        auto it = windows_.find(std::string(event));
        if (it == windows_.end() && windows_.size() >= limit_.max_tracked_events) {
            // Forget windows with nothing to report; if every one has, the line goes through.
            std::erase_if(windows_, [](const auto& e) { return e.second.suppressed == 0; });
        }
        if (it == windows_.end() && windows_.size() < limit_.max_tracked_events) {
            it = windows_.emplace(std::string(event), Window{now}).first;
        }
        if (it != windows_.end()) {
            Window& w = it->second;
            if (now - w.start >= limit_.window) {
                if (w.suppressed > 0) finished = w;
                w = Window{now};
            }
            if (w.lines >= limit_.lines_per_window) {
                ++w.suppressed;
                ++suppressed_total_;
                w.max_suppressed = std::max(w.max_suppressed, level);
                return;
            }
            ++w.lines;
        }
    }
    if (finished) report(inner_, event, *finished);
    inner_.log(level, event, fields);
}

void RateLimitedLogSink::flush() {
    std::vector<std::pair<std::string, Window>> pending;
    {
        std::lock_guard lock(mutex_);
        for (auto& [event, w] : windows_) {
            if (w.suppressed == 0) continue;
            pending.emplace_back(event, w);
            w.suppressed = 0;
            w.max_suppressed = LogLevel::debug;
        }
    }
    for (const auto& [event, w] : pending) report(inner_, event, w);
    inner_.flush();
}

std::uint64_t RateLimitedLogSink::suppressed_total() const {
    std::lock_guard lock(mutex_);
    return suppressed_total_;
}

}  // namespace planner
