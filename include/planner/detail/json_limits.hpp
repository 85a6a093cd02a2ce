#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace planner::detail {

/// Nesting depth of a parsed value, computed without recursion so that a hostile 10 000-level
/// document cannot overflow the stack here.
inline std::size_t json_depth(const nlohmann::json& root) {
    std::size_t max_depth = 0;
    std::vector<std::pair<const nlohmann::json*, std::size_t>> stack{{&root, 1}};
    while (!stack.empty()) {
        auto [node, depth] = stack.back();
        stack.pop_back();
        if (!node->is_structured()) continue;
        if (depth > max_depth) max_depth = depth;
        for (const auto& child : *node) stack.emplace_back(&child, depth + 1);
    }
    return max_depth;
}

/// True when raw JSON text nests deeper than `limit`. A linear scan that respects strings, run
/// before parsing because nlohmann's parser and serializer recurse once per level.
constexpr bool json_text_exceeds_depth(std::string_view text, std::size_t limit) noexcept {
    std::size_t depth = 0;
    bool in_string = false;
    bool escaped = false;
    for (const char c : text) {
        if (in_string) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > limit) return true;
        } else if ((c == '}' || c == ']') && depth > 0) {
            --depth;
        }
    }
    return false;
}

/// nlohmann's own serialisation, with invalid UTF-8 replaced by U+FFFD instead of throwing.
inline std::string dump_replacing(const nlohmann::json& value, int indent = -1) {
    return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

/// True when nlohmann writes `text` between quotes as it is: printable ASCII without `"` or
/// `\`. Anything else (escapes, UTF-8 to check) is left to nlohmann.
inline bool is_plain_json_string(std::string_view text) noexcept {
    // Eight bytes at a time: a byte below 0x20, above 0x7e, a '"' or a '\\' sets its top bit.
    constexpr std::uint64_t ones = 0x0101010101010101ULL;
    constexpr std::uint64_t highs = 0x8080808080808080ULL;
    const auto zero_byte = [](std::uint64_t v) { return (v - ones) & ~v & highs; };
    std::size_t i = 0;
    for (; i + 8 <= text.size(); i += 8) {
        std::uint64_t v;
        std::memcpy(&v, text.data() + i, 8);
        const std::uint64_t control = (v - ones * 0x20) & ~v & highs;  // < 0x20
        const std::uint64_t high = (v + ones) | v;                     // >= 0x7f
        if ((control | (high & highs) | zero_byte(v ^ (ones * '"')) |
             zero_byte(v ^ (ones * '\\'))) != 0) {
            return false;
        }
    }
    for (; i < text.size(); ++i) {
        const auto u = static_cast<unsigned char>(text[i]);
        if (u < 0x20 || u > 0x7e || u == '"' || u == '\\') return false;
    }
    return true;
}

/// Appends `value` to `out` exactly as dump_replacing(value, indent) would write it at nesting
/// `level`. Returns false, leaving `out` partly written, for a value it does not handle (binary,
/// discarded); the caller then serialises the whole document with nlohmann.
inline bool append_json(std::string& out, const nlohmann::json& value, int indent,
                        std::size_t level) {
    using value_t = nlohmann::json::value_t;
    const auto append_string = [&out](const std::string& text) {
        if (is_plain_json_string(text)) {
            out += '"';
            out += text;
            out += '"';
        } else {
            out += dump_replacing(nlohmann::json(text));
        }
    };
    const auto step = indent < 0 ? 0 : static_cast<std::size_t>(indent);
    switch (value.type()) {
        case value_t::object:
        case value_t::array: {
            const bool object = value.is_object();
            if (value.empty()) {
                out += object ? "{}" : "[]";
                return true;
            }
            out += object ? '{' : '[';
            bool first = true;
            for (auto it = value.begin(); it != value.end(); ++it) {
                if (!first) out += ',';
                first = false;
                if (indent >= 0) {
                    out += '\n';
                    out.append((level + 1) * step, ' ');
                }
                if (object) {
                    append_string(it.key());
                    out += indent >= 0 ? ": " : ":";
                }
                if (!append_json(out, *it, indent, level + 1)) return false;
            }
            if (indent >= 0) {
                out += '\n';
                out.append(level * step, ' ');
            }
            out += object ? '}' : ']';
            return true;
        }
        case value_t::string:
            append_string(value.get_ref<const std::string&>());
            return true;
        case value_t::boolean:
            out += value.get<bool>() ? "true" : "false";
            return true;
        case value_t::null:
            out += "null";
            return true;
        case value_t::number_integer:
            out += std::to_string(value.get<std::int64_t>());
            return true;
        case value_t::number_unsigned:
            out += std::to_string(value.get<std::uint64_t>());
            return true;
        case value_t::number_float:
            out += value.dump();  // nlohmann's shortest round-trip form, NaN as null
            return true;
        default:
            return false;
    }
}

/// Serialises with invalid UTF-8 replaced by U+FFFD instead of throwing: event payloads come
/// from any publisher on the bus. Byte for byte what nlohmann writes (tests/core/test_json_
/// limits.cpp compares them), but strings of printable ASCII, nearly all of them, are copied
/// instead of going through nlohmann's per-byte UTF-8 decoder: every proposal dumps its action
/// file, its event, its prompt and its log line, and that decoder was a sixth of the work.
inline std::string dump_lenient(const nlohmann::json& value, int indent = -1) {
    std::string out;
    if (value.is_structured()) out.reserve(512);
    if (append_json(out, value, indent, 0)) return out;
    return dump_replacing(value, indent);
}

}  // namespace planner::detail
