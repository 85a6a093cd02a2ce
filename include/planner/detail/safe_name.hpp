#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace planner::detail {

/// FNV-1a: a stable short fingerprint, not a security hash.
constexpr std::uint32_t fnv1a32(std::string_view s) noexcept {
    std::uint32_t h = 2166136261u;
    for (const char c : s) {
        h ^= static_cast<unsigned char>(c);
        h *= 16777619u;
    }
    return h;
}

/// Turns any string from an event into one safe path component: only `[A-Za-z0-9._-]`, never
/// starting with a dot, never holding `..`, never empty, at most `max_bytes` long. A name that had
/// to change gets a fingerprint of the original, so `a/b` and `a_b` do not share a folder.
inline std::string safe_path_component(std::string_view name, std::size_t max_bytes = 64) {
    constexpr std::size_t kSuffix = 9;  // '-' + 8 hex digits
    if (max_bytes < kSuffix + 1) max_bytes = kSuffix + 1;
    std::string out;
    out.reserve(std::min(name.size(), max_bytes));
    bool changed = name.empty();
    for (const char c : name) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                        (c == '.' && (out.empty() || out.back() != '.'));  // no `..` anywhere
        if (!ok) changed = true;
        out += ok ? c : '_';
        if (out.size() > max_bytes) break;  // the rest is cut anyway
    }
    if (!out.empty() && out.front() == '.') {
        out.front() = '_';
        changed = true;
    }
    if (changed || out.size() > max_bytes) {
        if (out.size() > max_bytes - kSuffix) out.resize(max_bytes - kSuffix);
        char suffix[16];
        std::snprintf(suffix, sizeof suffix, "-%08x", static_cast<unsigned>(fnv1a32(name)));
        if (out.empty()) out.push_back('_');
        out += suffix;
    }
    return out;
}

}  // namespace planner::detail
