#pragma once

/// planner-run as a child process for the hardening tests: arguments, a clean environment,
/// stdout and stderr captured to files, and small readers for what it wrote. Killed (SIGKILL)
/// by the Process destructor, so a failing test leaves nothing running.

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace planner::testing {

#ifdef PLANNER_RUN_PATH
/// The planner-run built with these tests (CMake passes its path to the service tests), so a
/// test always runs the binary of this tree, never one found on PATH.
inline const std::string kPlannerRun = PLANNER_RUN_PATH;
#endif

/// Variables of the developer's shell that must not reach the child.
inline const std::vector<std::string> kPlannerRunUnset = {"REDIS_URL",
                                                          "PLANNER_CHANNELS",
                                                          "ACTIONS_DIR",
                                                          "EVENTS_DIR",
                                                          "NODE_NAME",
                                                          "PLANNER_MODELS",
                                                          "HEARTBEAT_FILE",
                                                          "PLANNER_LOG_LEVEL",
                                                          "OLLAMA_HOST",
                                                          "OLLAMA_BASE_URL",
                                                          "OPENAI_API_KEY",
                                                          "ANTHROPIC_API_KEY",
                                                          "OPENAI_BASE_URL",
                                                          "ANTHROPIC_BASE_URL",
                                                          "OPENAI_API_KEY_FILE",
                                                          "ANTHROPIC_API_KEY_FILE",
                                                          "PLANNER_COOLDOWN_SECONDS",
                                                          "PLANNER_LOG_FORMAT",
                                                          "PLANNER_CONFIG",
                                                          "PLANNER_STATE_DIR",
                                                          "PLANNER_PROPOSAL_TTL",
                                                          "PLANNER_INTAKE",
                                                          "PLANNER_STREAM_GROUP"};

/// planner-run's arguments for a replay of `dir`/events.jsonl with `dir`/planner.yaml against
/// one model, JSON logs, and the actions, events and state directories under `dir`.
inline std::vector<std::string> replay_in_dir_args(const std::filesystem::path& dir,
                                                   const std::string& model_spec) {
    return {"--config",      (dir / "planner.yaml").string(),
            "--replay",      (dir / "events.jsonl").string(),
            "--model",       model_spec,
            "--log-format",  "json",
            "--actions-dir", (dir / "actions").string(),
            "--events-dir",  (dir / "events").string(),
            "--state-dir",   (dir / "state").string()};
}

/// Regular files under `root`, sorted; empty when `root` is missing.
inline std::vector<std::filesystem::path> files_under(const std::filesystem::path& root) {
    std::vector<std::filesystem::path> out;
    std::error_code ec;
    if (!std::filesystem::is_directory(root, ec)) return out;
    for (auto it = std::filesystem::recursive_directory_iterator(root, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_regular_file(ec)) out.push_back(it->path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

/// files_under without the writers' temporaries (`.tmp-*`): the files a reader may see. A wait
/// for a file to be written waits for this, since a temporary exists from open to rename.
inline std::vector<std::filesystem::path> finished_files_under(const std::filesystem::path& root) {
    auto out = files_under(root);
    std::erase_if(out, [](const std::filesystem::path& p) {
        return p.filename().string().starts_with(".tmp-");
    });
    return out;
}

inline std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < text.size()) {
        const auto nl = text.find('\n', start);
        out.push_back(text.substr(start, nl - start));
        if (nl == std::string::npos) break;
        start = nl + 1;
    }
    return out;
}

/// One planner-run child; `tag` names its stdout/stderr files so several runs share a TempDir.
class PlannerRunProcess {
  public:
    PlannerRunProcess(const std::string& binary, const TempDir& tmp, std::vector<std::string> args,
                      std::vector<std::pair<std::string, std::string>> env = {},
                      const std::string& tag = "run", std::filesystem::path stdin_file = {})
        : out_(tmp / (tag + ".stdout")), err_(tmp / (tag + ".stderr")) {
        args.insert(args.begin(), binary);
        process_ = std::make_unique<Process>(ProcessOptions{.argv = std::move(args),
                                                            .env = std::move(env),
                                                            .unset_env = kPlannerRunUnset,
                                                            .stdin_stream = std::move(stdin_file),
                                                            .stdout_stream = out_,
                                                            .stderr_stream = err_});
    }

    Process& process() { return *process_; }
    std::optional<int> wait(std::chrono::milliseconds t) { return process_->wait(t); }
    std::string stdout_text() const { return read_text(out_); }
    std::string stderr_text() const { return read_text(err_); }

    /// The JSON log lines on stderr; a line that is not JSON becomes {"unparsed": line}.
    std::vector<nlohmann::json> log_lines() const {
        std::vector<nlohmann::json> out;
        for (const auto& line : split_lines(stderr_text())) {
            auto j = nlohmann::json::parse(line, nullptr, false);
            out.push_back(j.is_discarded() ? nlohmann::json{{"unparsed", line}} : std::move(j));
        }
        return out;
    }
    /// How many log lines have `event` (and, when given, `field` == `value`).
    std::size_t count_log(const std::string& event, const std::string& field = {},
                          const nlohmann::json& value = {}) const {
        std::size_t n = 0;
        for (const auto& l : log_lines()) {
            if (l.value("event", "") != event) continue;
            if (!field.empty() && (!l.contains(field) || l[field] != value)) continue;
            ++n;
        }
        return n;
    }

  private:
    std::filesystem::path out_;
    std::filesystem::path err_;
    std::unique_ptr<Process> process_;
};

/// A replay of `tmp` (replay_in_dir_args, then `extra_args`, e.g. `--clock event`) run to its
/// end within 60 s: how it exited (nullopt: still running then, and stopped) and its JSON log
/// lines.
struct ReplayRun {
    std::optional<int> exit_code;
    std::vector<nlohmann::json> lines;
};
inline ReplayRun run_replay_in_dir(const std::string& binary, const TempDir& tmp,
                                   const std::string& model_spec, const std::string& tag,
                                   const std::vector<std::string>& extra_args = {}) {
    auto args = replay_in_dir_args(tmp.path(), model_spec);
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    PlannerRunProcess p(binary, tmp, std::move(args), {}, tag);
    auto exit_code = p.wait(std::chrono::seconds{60});
    return {exit_code, p.log_lines()};
}

}  // namespace planner::testing
