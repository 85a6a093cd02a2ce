#pragma once

// Small text helpers shared by the library's sources; not installed.

#include <cctype>
#include <string_view>

namespace planner::detail {

/// `s` without leading and trailing whitespace (as std::isspace in the C locale sees it).
inline std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

}  // namespace planner::detail
