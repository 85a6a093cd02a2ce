#include "config_yaml.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

namespace planner::detail {

namespace {

TextMark from_yaml(const YAML::Mark& m) {
    if (m.is_null() || m.line < 0) return {};
    return {m.line + 1, m.column + 1};
}

/// YAML 1.2 core schema for plain scalars: null, booleans, integers, floats, else a string.
nlohmann::json plain_scalar(const std::string& text) {
    if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
        return nullptr;
    }
    if (text == "true" || text == "True" || text == "TRUE") return true;
    if (text == "false" || text == "False" || text == "FALSE") return false;
    const char* first = text.data();
    const char* last = text.data() + text.size();
    const char* digits = (*first == '-' || *first == '+') ? first + 1 : first;
    if (digits == last) return text;
    bool integer = true;
    bool floating = true;
    for (const char* p = digits; p != last; ++p) {
        const char c = *p;
        if (c < '0' || c > '9') integer = false;
        if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '-' || c == '+')) {
            floating = false;
        }
    }
    if (integer) {
        long long v = 0;
        const auto [ptr, ec] = std::from_chars(digits, last, v);
        if (ec == std::errc{} && ptr == last) return *first == '-' ? -v : v;
        return text;  // too large for an integer: kept as written
    }
    if (floating && (*digits == '.' || (*digits >= '0' && *digits <= '9'))) {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        if (end == text.c_str() + text.size() && std::isfinite(v)) return v;
    }
    return text;
}

/// Thrown from inside the event handler to abandon a document that has already failed.
struct Abandon {};

class Builder final : public YAML::EventHandler {
  public:
    Builder(YamlDocument& doc, std::vector<YamlProblem>& problems, const YamlLimits& limits)
        : doc_(doc), problems_(problems), limits_(limits) {}

    bool fatal() const noexcept { return fatal_; }

    void OnDocumentStart(const YAML::Mark& mark) override {
        if (++documents_ > 1) fail(from_yaml(mark), "", "only one YAML document per file");
    }
    void OnDocumentEnd() override {}

    void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        const auto where = place(from_yaml(mark));
        complete(nullptr, "", anchor, where, 1);
    }

    void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
        const auto it = anchors_.find(anchor);
        if (it == anchors_.end()) fail(from_yaml(mark), "", "alias to an unknown anchor");
        count(from_yaml(mark), it->second.values);
        const auto where = place(from_yaml(mark));
        complete(it->second.value, "", 0, where, 0);
    }

    void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  const std::string& value) override {
        count(from_yaml(mark), 1);
        const auto where = place(from_yaml(mark));
        // "?" is a plain scalar; quoted ones ("!") and explicitly tagged ones stay strings.
        nlohmann::json v = tag == "?" ? plain_scalar(value) : nlohmann::json(value);
        complete(std::move(v), value, anchor, where, 1);
    }

    void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                         YAML::EmitterStyle::value) override {
        open(mark, nlohmann::json::array(), anchor);
    }
    void OnSequenceEnd() override { close(); }

    void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                    YAML::EmitterStyle::value) override {
        open(mark, nlohmann::json::object(), anchor);
    }
    void OnMapEnd() override { close(); }

  private:
    struct Frame {
        nlohmann::json value;
        std::string pointer;
        YAML::anchor_t anchor = 0;
        std::size_t values_at_start = 0;
        bool as_key = false;   ///< this container is a mapping key: refused when it ends
        bool skip = false;     ///< its value is dropped (a duplicate key)
        bool has_key = false;  ///< for mappings: a key was read, its value comes next
        std::string key;
        TextMark key_mark;
    };

    /// Where the value about to start goes: its pointer, and whether it is a key.
    struct Place {
        std::string pointer;
        bool as_key = false;
        bool skip = false;
        TextMark mark;
    };

    [[noreturn]] void fail(TextMark mark, std::string pointer, std::string message) {
        problems_.push_back({mark, std::move(pointer), std::move(message)});
        fatal_ = true;
        throw Abandon{};
    }

    void count(TextMark mark, std::size_t n) {
        values_ += n;
        if (values_ > limits_.max_values) {
            fail(mark, "",
                 "more than " + std::to_string(limits_.max_values) +
                     " values, aliases counted as expanded; refused (an alias bomb?)");
        }
    }

    Place place(TextMark mark) {
        if (stack_.empty()) {
            doc_.value_marks[""] = mark;
            return {"", false, false, mark};
        }
        Frame& top = stack_.back();
        const bool skip = top.skip;
        if (top.value.is_array()) {
            auto p = child_pointer(top.pointer, std::to_string(top.value.size()));
            if (!skip) doc_.value_marks[p] = mark;
            return {std::move(p), false, skip, mark};
        }
        if (!top.has_key) return {top.pointer, true, skip, mark};
        auto p = child_pointer(top.pointer, top.key);
        const bool dup = top.value.contains(top.key);
        if (!skip && !dup) doc_.value_marks[p] = mark;
        return {std::move(p), false, skip || dup, mark};
    }

    void open(const YAML::Mark& mark, nlohmann::json empty, YAML::anchor_t anchor) {
        const TextMark m = from_yaml(mark);
        if (stack_.size() >= limits_.max_depth) {
            fail(m, "", "nested deeper than " + std::to_string(limits_.max_depth) + " levels");
        }
        count(m, 1);
        const Place where = place(m);
        Frame f;
        f.value = std::move(empty);
        f.pointer = where.pointer;
        f.anchor = anchor;
        f.values_at_start = values_;
        f.as_key = where.as_key;
        f.skip = where.skip;
        if (where.as_key) f.key_mark = m;
        stack_.push_back(std::move(f));
    }

    void close() {
        Frame f = std::move(stack_.back());
        stack_.pop_back();
        if (f.as_key) {
            fail(f.key_mark, f.pointer, "a key must be a plain name, not a list or mapping");
        }
        complete(std::move(f.value), "", f.anchor, {f.pointer, false, f.skip, f.key_mark},
                 values_ - f.values_at_start + 1);
    }

    void complete(nlohmann::json value, const std::string& raw, YAML::anchor_t anchor,
                  const Place& where, std::size_t values) {
        if (anchor != 0) anchors_[anchor] = {value, values};
        if (stack_.empty()) {
            doc_.root = std::move(value);
            return;
        }
        Frame& top = stack_.back();
        if (top.value.is_array()) {
            if (!where.skip) top.value.push_back(std::move(value));
            return;
        }
        if (where.as_key) {
            std::string key;
            if (value.is_string()) {
                key = value.get<std::string>();
            } else if (!raw.empty()) {
                key = raw;
            } else {
                key = value.is_null() ? "" : value.dump();
            }
            top.has_key = true;
            top.key = key;
            const std::string p = child_pointer(top.pointer, key);
            if (top.value.contains(key)) {
                const TextMark first = doc_.key_mark(p);
                problems_.push_back({where.mark, p,
                                     "duplicate key '" + key + "' (first at line " +
                                         std::to_string(first.line) + "); the first one is kept"});
            } else if (!top.skip) {
                doc_.key_marks[p] = where.mark;
            }
            return;
        }
        top.has_key = false;
        if (!where.skip && !top.value.contains(top.key)) top.value[top.key] = std::move(value);
    }

    YamlDocument& doc_;
    std::vector<YamlProblem>& problems_;
    const YamlLimits& limits_;
    std::vector<Frame> stack_;
    struct Anchored {
        nlohmann::json value;
        std::size_t values = 1;
    };
    std::map<YAML::anchor_t, Anchored> anchors_;
    std::size_t values_ = 0;
    int documents_ = 0;
    bool fatal_ = false;
};

}  // namespace

TextMark YamlDocument::value_mark(std::string pointer) const {
    for (;;) {
        if (const auto it = value_marks.find(pointer); it != value_marks.end()) return it->second;
        if (pointer.empty()) return {};
        pointer.erase(pointer.rfind('/'));
    }
}

TextMark YamlDocument::key_mark(const std::string& pointer) const {
    if (const auto it = key_marks.find(pointer); it != key_marks.end()) return it->second;
    return value_mark(pointer);
}

std::vector<std::string> split_pointer(std::string_view pointer) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < pointer.size()) {
        const auto next = pointer.find('/', i + 1);
        const auto raw = pointer.substr(
            i + 1, next == std::string_view::npos ? std::string_view::npos : next - i - 1);
        std::string token;
        for (std::size_t k = 0; k < raw.size(); ++k) {
            if (raw[k] == '~' && k + 1 < raw.size()) {
                token += raw[k + 1] == '1' ? '/' : '~';
                ++k;
            } else {
                token += raw[k];
            }
        }
        out.push_back(std::move(token));
        if (next == std::string_view::npos) break;
        i = next;
    }
    return out;
}

std::string child_pointer(const std::string& parent, std::string_view key) {
    std::string p = parent;
    p += '/';
    for (const char c : key) {
        if (c == '~') {
            p += "~0";
        } else if (c == '/') {
            p += "~1";
        } else {
            p += c;
        }
    }
    return p;
}

std::optional<std::size_t> first_invalid_utf8(std::string_view text) noexcept {
    std::size_t i = 0;
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    while (i < text.size()) {
        const unsigned char c = byte(i);
        std::size_t len = 0;
        std::uint32_t cp = 0;
        if (c < 0x80) {
            ++i;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return i;
        }
        if (i + len > text.size()) return i;
        for (std::size_t k = 1; k < len; ++k) {
            if ((byte(i + k) & 0xC0) != 0x80) return i;
            cp = (cp << 6) | (byte(i + k) & 0x3F);
        }
        // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
            return i;
        }
        i += len;
    }
    return std::nullopt;
}

TextMark mark_of_offset(std::string_view text, std::size_t offset) noexcept {
    TextMark m{1, 1};
    for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
        if (text[i] == '\n') {
            ++m.line;
            m.column = 1;
        } else {
            ++m.column;
        }
    }
    return m;
}

YamlRead read_yaml(std::string_view text, const YamlLimits& limits) {
    YamlRead out;
    YamlDocument doc;
    std::istringstream in{std::string(text)};
    Builder builder(doc, out.problems, limits);
    try {
        YAML::Parser parser(in);
        while (parser.HandleNextDocument(builder)) {
        }
    } catch (const Abandon&) {
        return out;
    } catch (const YAML::Exception& e) {
        out.problems.push_back({from_yaml(e.mark), "", "not valid YAML: " + e.msg});
        return out;
    } catch (const std::exception& e) {
        out.problems.push_back({{}, "", std::string("not valid YAML: ") + e.what()});
        return out;
    }
    out.document = std::move(doc);
    return out;
}

}  // namespace planner::detail
