#include <catch2/catch.hpp>

#include <planner/detail/safe_name.hpp>

using planner::detail::safe_path_component;

namespace {
bool is_safe(const std::string& s) {
    if (s.empty() || s.front() == '.') return false;
    for (char c : s) {
        const bool ok =
            std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
        if (!ok) return false;
    }
    return true;
}
}  // namespace

TEST_CASE("ordinary names pass unchanged", "[safe_name]") {
    for (auto n : {"piha", "chelsty-infra", "home_assistant", "qwen2.5", "A-Z_09"}) {
        CHECK(safe_path_component(n) == n);
    }
}

TEST_CASE("hostile names become one safe component", "[safe_name]") {
    const std::vector<std::string> hostile = {"../../etc/passwd",
                                              "/etc/shadow",
                                              "..",
                                              ".",
                                              "...",
                                              ".hidden",
                                              std::string("a\0b", 3),
                                              "line\nbreak",
                                              "",
                                              std::string(10'000, 'x'),
                                              "C:\\Windows",
                                              "spa ce",
                                              "\xC3\xA9t\xC3\xA9"};
    for (const auto& n : hostile) {
        const auto s = safe_path_component(n);
        INFO(n.substr(0, 40) << " -> " << s);
        CHECK(is_safe(s));
        CHECK(s.size() <= 64);
        CHECK(s != n);
    }
}

TEST_CASE("distinct hostile names stay distinct", "[safe_name]") {
    CHECK(safe_path_component("a/b") != safe_path_component("a_b"));
    CHECK(safe_path_component("a/b") != safe_path_component("a\\b"));
    CHECK(safe_path_component(std::string(100, 'x') + "1") !=
          safe_path_component(std::string(100, 'x') + "2"));
}

TEST_CASE("length limit is respected", "[safe_name]") {
    CHECK(safe_path_component(std::string(30, 'a'), 16).size() <= 16);
    CHECK(safe_path_component(std::string(16, 'a'), 16) == std::string(16, 'a'));
}
