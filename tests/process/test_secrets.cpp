// API keys through planner-run: from the environment and from --*-key-file, sent to the
// provider, and never in a log line, on stdout or in a file written, even when a failing
// provider echoes the key back in its error.

#ifdef PLANNER_RUN_PATH

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "support/planner_run_process.hpp"
#include "support/process.hpp"
#include "support/provider_server.hpp"
#include "support/temp_dir.hpp"
#include "support/wire_formats.hpp"

using namespace planner::testing;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

/// Every byte planner-run left behind: its stdout, stderr and each file under `dirs`.
std::vector<std::pair<std::string, std::string>> everything_written(
    const PlannerRunProcess& run, const std::vector<fs::path>& dirs) {
    std::vector<std::pair<std::string, std::string>> out{{"stdout", run.stdout_text()},
                                                         {"stderr", run.stderr_text()}};
    for (const auto& dir : dirs) {
        for (const auto& f : files_under(dir)) out.emplace_back(f.string(), read_text(f));
    }
    return out;
}

/// Where each provider takes its key and base URL, for the wire types of wire_formats.hpp.
struct OpenAIKeys {
    using Wire = OpenAIWire;
    static constexpr const char* key_env = "OPENAI_API_KEY";
    static constexpr const char* key_file_env = "OPENAI_API_KEY_FILE";
    static constexpr const char* key_file_flag = "--openai-key-file";
    static constexpr const char* base_env = "OPENAI_BASE_URL";
    static constexpr const char* base_suffix = "/v1";
    static constexpr const char* auth_header = "Authorization";
    static constexpr const char* auth_prefix = "Bearer ";
};
struct AnthropicKeys {
    using Wire = AnthropicWire;
    static constexpr const char* key_env = "ANTHROPIC_API_KEY";
    static constexpr const char* key_file_env = "ANTHROPIC_API_KEY_FILE";
    static constexpr const char* key_file_flag = "--anthropic-key-file";
    static constexpr const char* base_env = "ANTHROPIC_BASE_URL";
    static constexpr const char* base_suffix = "";
    static constexpr const char* auth_header = "x-api-key";
    static constexpr const char* auth_prefix = "";
};

}  // namespace

TEMPLATE_TEST_CASE("secrets: a key from the environment or a key file is sent and never written",
                   "[secrets][planner-run]", OpenAIKeys, AnthropicKeys) {
    using Wire = typename TestType::Wire;
    enum class Source { env, flag_file, env_file };
    for (const Source source : {Source::env, Source::flag_file, Source::env_file}) {
        const std::string key =
            "sk-secret-" + std::to_string(static_cast<int>(source)) + "-9f8e7d6c5b4a3210";
        DYNAMIC_SECTION("key source " << static_cast<int>(source)) {
            TempDir tmp;
            ProviderServer model;
            // The first call fails with an error that quotes the key (some proxies do), so the
            // failure is logged with every attempt; the second answers, and its reason quotes
            // the key too, so a proposal file would carry it if anything let it through.
            auto leaky = valid_proposal();
            leaky["reason"] = "restarting; your key " + key + " works";
            model.script({Wire::error(401, "Incorrect API key provided: " + key),
                          Wire::answer(leaky.dump())});
            write_text(tmp / "events.jsonl",
                       R"({"type":"service_unhealthy","node":"vps","service":"observer"})"
                       "\n"
                       R"({"type":"service_unhealthy","node":"piha","service":"mosquitto"})"
                       "\n");
            std::vector<std::pair<std::string, std::string>> env{
                {TestType::base_env, model.url() + TestType::base_suffix}};
            std::vector<std::string> args{"--replay",      (tmp / "events.jsonl").string(),
                                          "--model",       Wire::spec(),
                                          "--log-level",   "debug",
                                          "--actions-dir", (tmp / "actions").string(),
                                          "--events-dir",  (tmp / "events").string(),
                                          "--node",        "solaria"};
            // The file ends in a newline, as `echo key > file` writes it.
            write_text(tmp / "key", key + "\n");
            if (source == Source::env) {
                env.emplace_back(TestType::key_env, key);
            } else if (source == Source::flag_file) {
                env.emplace_back(TestType::key_env, "sk-env-loses-to-the-file");
                args.push_back(TestType::key_file_flag);
                args.push_back((tmp / "key").string());
            } else {
                env.emplace_back(TestType::key_file_env, (tmp / "key").string());
            }
            PlannerRunProcess run(kPlannerRun, tmp, args, env);
            REQUIRE(run.wait(30s) == 0);

            // The key reached the provider with its newline trimmed.
            const auto requests = model.requests();
            REQUIRE(requests.size() == 2);
            for (const auto& r : requests) {
                CHECK(r.header(TestType::auth_header) == std::string(TestType::auth_prefix) + key);
            }
            CHECK(run.count_log("chain_failed") == 1);
            CHECK(run.stderr_text().find("Incorrect API key") != std::string::npos);
            REQUIRE(files_under(tmp / "actions").size() == 1);

            for (const auto& [where, text] :
                 everything_written(run, {tmp / "actions", tmp / "events"})) {
                INFO(where);
                CHECK(text.find(key) == std::string::npos);
                CHECK(text.find("sk-env-loses-to-the-file") == std::string::npos);
            }
        }
    }
}

TEST_CASE("secrets: an unusable key file exits 2 with one line naming the file, not its content",
          "[secrets][planner-run]") {
    TempDir tmp;
    const std::string secret = "sk-secret-two-lines-1a2b3c";
    write_text(tmp / "two-lines", secret + "\nsecond-line-" + secret + "\n");
    write_text(tmp / "empty", "\n");
    fs::create_directory(tmp / "a-directory");
    const std::vector<std::pair<fs::path, std::string>> cases{
        {tmp / "missing", "No such file"},
        {tmp / "a-directory", "directory"},
        {tmp / "empty", "empty"},
        {tmp / "two-lines", "control characters"},
    };
    for (const auto& [path, reason] : cases) {
        for (const char* flag : {"--openai-key-file", "--anthropic-key-file"}) {
            INFO(path << " " << flag);
            PlannerRunProcess run(
                kPlannerRun, tmp,
                {flag, path.string(), "--model", "rules", "--dry-run", "--replay", "/dev/null"}, {},
                "bad-key");
            REQUIRE(run.wait(20s) == 2);
            const auto lines = split_lines(run.stderr_text());
            REQUIRE(lines.size() == 1);
            CHECK(lines[0].starts_with("planner-run: "));
            CHECK(lines[0].find(path.string()) != std::string::npos);
            CHECK(lines[0].find(reason) != std::string::npos);
            CHECK(lines[0].find(secret) == std::string::npos);
            CHECK(run.stdout_text().empty());
        }
    }
}

TEST_CASE("secrets: the key-file flags and variables are in --help", "[secrets][planner-run]") {
    TempDir tmp;
    PlannerRunProcess run(kPlannerRun, tmp, {"--help"});
    REQUIRE(run.wait(20s) == 0);
    const auto help = run.stdout_text();
    for (const char* word : {"--openai-key-file", "OPENAI_API_KEY_FILE", "--anthropic-key-file",
                             "ANTHROPIC_API_KEY_FILE"}) {
        INFO(word);
        CHECK(help.find(word) != std::string::npos);
    }
}

#endif  // PLANNER_RUN_PATH
