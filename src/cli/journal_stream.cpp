#include "journal_stream.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace planner::cli {

namespace {

/// A whole decimal number, nothing before or after it.
bool parse_decimal(std::string_view text, std::uintmax_t& value) {
    if (text.empty()) return false;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    return ec == std::errc{} && end == text.data() + text.size();
}

}  // namespace

bool stream_is_journal(const char* journal_stream, int fd) noexcept {
    if (journal_stream == nullptr) return false;
    const std::string_view value(journal_stream);
    const auto colon = value.find(':');
    if (colon == std::string_view::npos) return false;
    std::uintmax_t dev = 0;
    std::uintmax_t ino = 0;
    if (!parse_decimal(value.substr(0, colon), dev) || !parse_decimal(value.substr(colon + 1), ino))
        return false;
    struct stat st {};
    if (::fstat(fd, &st) != 0) return false;
    return static_cast<std::uintmax_t>(st.st_dev) == dev &&
           static_cast<std::uintmax_t>(st.st_ino) == ino;
}

bool stderr_is_journal() noexcept {
    return stream_is_journal(std::getenv("JOURNAL_STREAM"), STDERR_FILENO);
}

}  // namespace planner::cli
