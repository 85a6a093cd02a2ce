#pragma once

// YAML text → JSON, remembering where each value and key was written, refusing what yaml-cpp's
// node API would accept silently (duplicate keys, several documents, complex keys) and what
// would cost unbounded memory (alias bombs, deep nesting). Internal to the config loader.

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace planner::detail {

/// A place in the text, both counted from 1; 0 when unknown.
struct TextMark {
    int line = 0;
    int column = 0;
};

struct YamlLimits {
    std::size_t max_depth = 32;
    std::size_t max_values = 100'000;
};

/// The document as JSON with the marks of its values and keys, by JSON pointer.
struct YamlDocument {
    nlohmann::json root;  ///< null for an empty file
    std::map<std::string, TextMark> value_marks;
    std::map<std::string, TextMark> key_marks;

    /// Where the value at `pointer` starts, or its nearest ancestor's (values copied from an
    /// alias carry the alias's mark).
    TextMark value_mark(std::string pointer) const;
    /// Where the key of `pointer` is written; the value's mark when it has no key.
    TextMark key_mark(const std::string& pointer) const;
};

struct YamlProblem {
    TextMark mark;
    std::string pointer;
    std::string message;
};

struct YamlRead {
    std::optional<YamlDocument> document;  ///< empty when the text could not be read at all
    std::vector<YamlProblem> problems;     ///< with a document: non-fatal (duplicate keys)
};

/// Parses `text` (already checked to be UTF-8 and small enough).
YamlRead read_yaml(std::string_view text, const YamlLimits& limits);

/// Offset of the first byte that is not part of valid UTF-8; nullopt when all of it is.
std::optional<std::size_t> first_invalid_utf8(std::string_view text) noexcept;

/// Line and column (from 1, in bytes) of `offset` in `text`.
TextMark mark_of_offset(std::string_view text, std::size_t offset) noexcept;

/// `/a/b~1c` → {"a", "b/c"}.
std::vector<std::string> split_pointer(std::string_view pointer);
/// The pointer of `key` under `parent`.
std::string child_pointer(const std::string& parent, std::string_view key);

}  // namespace planner::detail
