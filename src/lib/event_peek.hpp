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
/// fields of kEventFields (health_event.hpp), read into the same EventFieldsSeen the DOM parse
/// fills, and checked by the same check_event_fields, so it accepts what try_parse_event
/// accepts. Intake skips a message on this pass's word only when it is valid here and benign or
/// in cooldown; all else takes the full parse, which explains a rejection. When unsure (a
/// repeated field, which the DOM resolves to the last) it answers "not valid", which costs only
/// speed.
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
            select(k);
            if (!walk_fast(field.value(), 1)) return false;
        }
        // Trailing content: a location left means a token after the top-level object.
        const char* left = nullptr;
        return doc.current_location().get(left) != simdjson::SUCCESS;
    }

    bool null() { return scalar(FieldKind::null); }
    bool boolean(bool) { return scalar(FieldKind::boolean); }
    bool number_integer(json::number_integer_t) { return scalar(FieldKind::number); }
    bool number_unsigned(json::number_unsigned_t) { return scalar(FieldKind::number); }
    bool number_float(json::number_float_t, const json::string_t&) {
        return scalar(FieldKind::number);
    }
    bool string(json::string_t& s) {
        if (depth_ == 1 && current_ != kNone) fields_[current_].text = s;
        return scalar(FieldKind::string);
    }
    bool binary(json::binary_t&) { return scalar(FieldKind::array); }
    bool start_object(std::size_t) { return open(FieldKind::object); }
    bool end_object() { return close(); }
    bool start_array(std::size_t) { return open(FieldKind::array); }
    bool end_array() { return close(); }
    bool key(json::string_t& k) {
        if (depth_ == 1) select(k);
        return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
        return false;
    }

    /// try_parse_event's verdict on the fields read: check_event_fields on the same table.
    bool valid(const EventLimits& limits) const {
        if (!top_is_object_ || repeated_) return false;
        EventFieldsSeen seen;
        for (std::size_t i = 0; i < kEventFieldCount; ++i) {
            seen[i].kind = fields_[i].kind;
            seen[i].text = fields_[i].text;
        }
        seen[kEventPayload].depth = payload_depth_;
        return check_event_fields(seen, limits, nullptr);
    }
    /// A field of kEventFields came twice: the peek leaves such a message to the DOM.
    bool repeated() const noexcept { return repeated_; }

    std::string_view node() const { return fields_[kEventNode].text; }
    std::string_view event_type() const {
        return fields_[kEventType].text.empty() ? fields_[kEventEventType].text
                                                : fields_[kEventType].text;
    }
    std::string_view service() const {
        return fields_[kEventService].text.empty() ? node() : fields_[kEventService].text;
    }

  private:
    /// The field of kEventFields named `k`, if any, becomes the current one.
    void select(std::string_view k) {
        current_ = kNone;
        for (std::size_t i = 0; i < kEventFieldCount; ++i) {
            if (k == kEventFields[i].name) current_ = i;
        }
        if (current_ != kNone && fields_[current_].kind != FieldKind::absent) repeated_ = true;
    }

    /// One value at container depth `depth` (1: a top-level field's value), read whole so that
    /// simdjson checks every byte; the top-level field's kind and text as the SAX pass records.
    bool walk_fast(simdjson::ondemand::value value, std::size_t depth) {
        if (depth > kFastMaxDepth) return false;
        simdjson::ondemand::json_type type;
        if (value.type().get(type)) return false;
        const bool top = depth == 1 && current_ != kNone;
        switch (type) {
            case simdjson::ondemand::json_type::object: {
                if (top) fields_[current_].kind = FieldKind::object;
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
                if (top) fields_[current_].kind = FieldKind::array;
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
                    fields_[current_].kind = FieldKind::string;
                    fields_[current_].text = s;
                }
                return true;
            }
            case simdjson::ondemand::json_type::number: {
                // Integers beyond 64 bits are an error here and a float to nlohmann: unsure.
                simdjson::ondemand::number n;
                if (value.get_number().get(n)) return false;
                if (top) fields_[current_].kind = FieldKind::number;
                return true;
            }
            case simdjson::ondemand::json_type::boolean: {
                bool b = false;
                if (value.get_bool().get(b)) return false;
                if (top) fields_[current_].kind = FieldKind::boolean;
                return true;
            }
            case simdjson::ondemand::json_type::null: {
                bool is_null = false;
                if (value.is_null().get(is_null) || !is_null) return false;
                if (top) fields_[current_].kind = FieldKind::null;
                return true;
            }
        }
        return false;
    }
    /// The SAX pass's payload depth: containers opened within the payload, itself counted 1.
    void note_container(std::size_t depth) {
        if (current_ == kEventPayload) payload_depth_ = std::max(payload_depth_, depth);
    }

    struct Field {
        FieldKind kind = FieldKind::absent;
        std::string text;  ///< set only for a string
    };
    static constexpr std::size_t kNone = kEventFieldCount;

    bool scalar(FieldKind kind) {
        if (depth_ == 0) top_is_object_ = false;
        if (depth_ == 1 && current_ != kNone) fields_[current_].kind = kind;
        return true;
    }
    bool open(FieldKind kind) {
        if (depth_ == 0) top_is_object_ = kind == FieldKind::object;
        if (depth_ == 1 && current_ != kNone) fields_[current_].kind = kind;
        ++depth_;
        if (depth_ >= 2 && current_ == kEventPayload) {
            payload_depth_ = std::max(payload_depth_, depth_ - 1);
        }
        return true;
    }
    bool close() {
        --depth_;
        return true;
    }

    std::array<Field, kEventFieldCount> fields_{};
    std::size_t current_ = kNone;
    std::size_t depth_ = 0;
    std::size_t payload_depth_ = 0;
    bool top_is_object_ = false;
    bool repeated_ = false;
};

}  // namespace

}  // namespace planner::detail
