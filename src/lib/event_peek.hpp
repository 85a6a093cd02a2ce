#pragma once

// The DOM-free first look at a bus message; internal to the agent (included by agent.cpp
// alone), not installed.

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include <simdjson.h>
#include <nlohmann/json.hpp>

#include "planner/health_event.hpp"

namespace planner::detail {

// Internal linkage on purpose: the one includer's intake loop inlines the SAX callbacks, which
// measured ~300 fewer instructions per message than an out-of-line peek.
namespace {

/// A first pass over a message that builds no DOM (nlohmann's SAX interface): the top-level
/// names intake decides on, and whether try_parse_event would accept the message. Intake skips
/// a message on this pass's word only when it is valid here and benign or in cooldown; all
/// else takes the full parse, which stays the one place that rejects and explains.
/// When unsure (a repeated field, say) it answers "not valid", which costs only speed.
///
/// read() tries simdjson's On-Demand API first (read_fast): it walks every value, so the whole
/// text is validated as nlohmann would, and fills the same fields. Whatever it cannot vouch for
/// (an error of any kind, a number beyond 64 bits, a top level that is not an object, a text
/// over kFastMaxBytes) it leaves to nlohmann's SAX pass (read_sax), the reference: a
/// differential test and the `peek` fuzz target hold the two to the same answer.
class EventPeek {
  public:
    using json = nlohmann::json;

    /// Larger texts go to the SAX pass: keeps each thread's simdjson buffers small.
    static constexpr std::size_t kFastMaxBytes = 64 * 1024;
    /// Deeper nesting goes to the SAX pass (which keeps no call stack per level): the fast
    /// pass recurses once per level, and may be handed any text.
    static constexpr std::size_t kFastMaxDepth = 128;

    /// Fills the fields from `data`; false when the text is not JSON nlohmann would accept.
    bool read(std::string_view data) {
        if (read_fast(data)) return true;
        *this = EventPeek{};
        return read_sax(data);
    }

    /// The reference pass: nlohmann's SAX parser, same grammar as the DOM parse.
    bool read_sax(std::string_view data) { return json::sax_parse(data, this); }

    /// The fast pass. True only when simdjson accepted and walked the whole text, which is
    /// then JSON nlohmann accepts too; false means "unsure" and leaves the fields unspecified.
    bool read_fast(std::string_view data) {
        if (data.size() > kFastMaxBytes) return false;
        // One parser and one padded copy per thread: intake runs on several.
        thread_local simdjson::ondemand::parser parser;
        thread_local std::string padded;
        padded.assign(data);
        padded.append(simdjson::SIMDJSON_PADDING, ' ');
        simdjson::ondemand::document doc;
        if (parser.iterate(padded.data(), data.size(), padded.size()).get(doc)) return false;
        simdjson::ondemand::object top;
        if (doc.get_object().get(top)) return false;
        top_is_object_ = true;
        for (auto member : top) {
            simdjson::ondemand::field field;
            std::string_view k;
            if (std::move(member).get(field) || field.unescaped_key().get(k)) return false;
            current_ = kNone;
            for (std::size_t i = 0; i < kNames.size(); ++i) {
                if (k == kNames[i]) current_ = i;
            }
            if (current_ != kNone && fields_[current_].kind != Kind::absent) repeated_ = true;
            if (!walk_fast(field.value(), 1)) return false;
        }
        // Trailing content: a location left means a token after the top-level object.
        const char* left = nullptr;
        return doc.current_location().get(left) != simdjson::SUCCESS;
    }

    bool null() { return scalar(Kind::null); }
    bool boolean(bool) { return scalar(Kind::other); }
    bool number_integer(json::number_integer_t) { return scalar(Kind::number); }
    bool number_unsigned(json::number_unsigned_t) { return scalar(Kind::number); }
    bool number_float(json::number_float_t, const json::string_t&) { return scalar(Kind::number); }
    bool string(json::string_t& s) {
        if (depth_ == 1 && current_ != kNone) fields_[current_].text = s;
        return scalar(Kind::string);
    }
    bool binary(json::binary_t&) { return scalar(Kind::other); }
    bool start_object(std::size_t) { return open(Kind::object); }
    bool end_object() { return close(); }
    bool start_array(std::size_t) { return open(Kind::other); }
    bool end_array() { return close(); }
    bool key(json::string_t& k) {
        if (depth_ != 1) return true;
        current_ = kNone;
        for (std::size_t i = 0; i < kNames.size(); ++i) {
            if (k == kNames[i]) current_ = i;
        }
        if (current_ != kNone && fields_[current_].kind != Kind::absent) repeated_ = true;
        return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
        return false;
    }

    /// The same checks, in effect, as try_parse_event.
    bool valid(const EventLimits& limits) const {
        if (!top_is_object_ || repeated_) return false;
        const auto name_ok = [&](std::size_t f) {
            const Field& x = fields_[f];
            if (x.kind == Kind::absent || x.kind == Kind::null) return true;
            return x.kind == Kind::string && x.text.size() <= limits.max_name_bytes;
        };
        if (!name_ok(kNode) || !name_ok(kType) || !name_ok(kService) || !name_ok(kSeverity)) {
            return false;
        }
        if (fields_[kType].text.empty() && !name_ok(kEventType)) return false;
        if (node().empty() || event_type().empty()) return false;
        const Kind payload = fields_[kPayload].kind;
        if (payload != Kind::absent && payload != Kind::null &&
            (payload != Kind::object || payload_depth_ > limits.max_payload_depth)) {
            return false;
        }
        const Kind ts = fields_[kTimestamp].kind;
        return ts == Kind::absent || ts == Kind::null || ts == Kind::number || ts == Kind::string;
    }

    std::string_view node() const { return fields_[kNode].text; }
    std::string_view event_type() const {
        return fields_[kType].text.empty() ? fields_[kEventType].text : fields_[kType].text;
    }
    std::string_view service() const {
        return fields_[kService].text.empty() ? node() : fields_[kService].text;
    }

  private:
    enum class Kind { absent, null, string, number, object, other };

    /// One value at container depth `depth` (1: a top-level field's value), read whole so that
    /// simdjson checks every byte; the top-level field's kind and text as the SAX pass records.
    bool walk_fast(simdjson::ondemand::value value, std::size_t depth) {
        if (depth > kFastMaxDepth) return false;
        simdjson::ondemand::json_type type;
        if (value.type().get(type)) return false;
        const bool top = depth == 1 && current_ != kNone;
        switch (type) {
            case simdjson::ondemand::json_type::object: {
                if (top) fields_[current_].kind = Kind::object;
                note_container(depth);
                simdjson::ondemand::object object;
                if (value.get_object().get(object)) return false;
                for (auto member : object) {
                    simdjson::ondemand::field field;
                    std::string_view k;
                    if (std::move(member).get(field) || field.unescaped_key().get(k)) return false;
                    if (!walk_fast(field.value(), depth + 1)) return false;
                }
                return true;
            }
            case simdjson::ondemand::json_type::array: {
                if (top) fields_[current_].kind = Kind::other;
                note_container(depth);
                simdjson::ondemand::array array;
                if (value.get_array().get(array)) return false;
                for (auto element : array) {
                    simdjson::ondemand::value v;
                    if (std::move(element).get(v) || !walk_fast(v, depth + 1)) return false;
                }
                return true;
            }
            case simdjson::ondemand::json_type::string: {
                std::string_view s;
                if (value.get_string().get(s)) return false;
                if (top) {
                    fields_[current_].kind = Kind::string;
                    fields_[current_].text = s;
                }
                return true;
            }
            case simdjson::ondemand::json_type::number: {
                // Integers beyond 64 bits are an error here and a float to nlohmann: unsure.
                simdjson::ondemand::number n;
                if (value.get_number().get(n)) return false;
                if (top) fields_[current_].kind = Kind::number;
                return true;
            }
            case simdjson::ondemand::json_type::boolean: {
                bool b = false;
                if (value.get_bool().get(b)) return false;
                if (top) fields_[current_].kind = Kind::other;
                return true;
            }
            case simdjson::ondemand::json_type::null: {
                bool is_null = false;
                if (value.is_null().get(is_null) || !is_null) return false;
                if (top) fields_[current_].kind = Kind::null;
                return true;
            }
        }
        return false;
    }
    /// The SAX pass's payload depth: containers opened within the payload, itself counted 1.
    void note_container(std::size_t depth) {
        if (current_ == kPayload) payload_depth_ = std::max(payload_depth_, depth);
    }

    struct Field {
        Kind kind = Kind::absent;
        std::string text;  ///< set only for a string
    };
    static constexpr std::size_t kNode = 0, kType = 1, kEventType = 2, kService = 3, kSeverity = 4,
                                 kPayload = 5, kTimestamp = 6, kNone = 7;
    static constexpr std::array<std::string_view, 7> kNames{
        "node", "type", "event_type", "service", "severity", "payload", "timestamp"};

    bool scalar(Kind kind) {
        if (depth_ == 0) top_is_object_ = false;
        if (depth_ == 1 && current_ != kNone) fields_[current_].kind = kind;
        return true;
    }
    bool open(Kind kind) {
        if (depth_ == 0) top_is_object_ = kind == Kind::object;
        if (depth_ == 1 && current_ != kNone) fields_[current_].kind = kind;
        ++depth_;
        if (depth_ >= 2 && current_ == kPayload) {
            payload_depth_ = std::max(payload_depth_, depth_ - 1);
        }
        return true;
    }
    bool close() {
        --depth_;
        return true;
    }

    std::array<Field, 7> fields_{};
    std::size_t current_ = kNone;
    std::size_t depth_ = 0;
    std::size_t payload_depth_ = 0;
    bool top_is_object_ = false;
    bool repeated_ = false;
};

}  // namespace

}  // namespace planner::detail
