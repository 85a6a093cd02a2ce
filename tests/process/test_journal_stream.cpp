/// planner-run's logs under journald: `<N>` priorities only when stderr is the journal stream
/// that JOURNAL_STREAM names (systemd's check: the variable's `<dev>:<ino>` against fstat of
/// stderr), so a redirected or inherited stderr never gets them.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include <catch2/catch.hpp>

#include "journal_stream.hpp"

#include "support/planner_run_process.hpp"
#include "support/temp_dir.hpp"

using namespace planner::testing;
using namespace std::chrono_literals;
using planner::cli::stream_is_journal;

namespace {

/// `<dev>:<ino>` of `path`, as systemd writes JOURNAL_STREAM.
std::string dev_ino(const std::filesystem::path& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

/// An open descriptor of a fresh file, and the file's `<dev>:<ino>`.
struct OpenFile {
    explicit OpenFile(const std::filesystem::path& path)
        : fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) {
        REQUIRE(fd >= 0);
        id = dev_ino(path);
    }
    ~OpenFile() { ::close(fd); }
    OpenFile(const OpenFile&) = delete;
    OpenFile& operator=(const OpenFile&) = delete;
    int fd;
    std::string id;
};

}  // namespace

TEST_CASE("journal stream: only the descriptor JOURNAL_STREAM names is the journal", "[journal]") {
    TempDir tmp;
    OpenFile journal(tmp / "journal");
    OpenFile other(tmp / "other");
    CHECK(stream_is_journal(journal.id.c_str(), journal.fd));
    CHECK_FALSE(stream_is_journal(journal.id.c_str(), other.fd));
    CHECK_FALSE(stream_is_journal(nullptr, journal.fd));
    CHECK_FALSE(stream_is_journal(journal.id.c_str(), -1));
    const auto colon = journal.id.find(':');
    const std::string dev = journal.id.substr(0, colon);
    const std::string ino = journal.id.substr(colon + 1);
    for (const std::string& bad :
         {std::string{}, dev, ":" + ino, dev + ":", dev + ":" + ino + "x", " " + dev + ":" + ino,
          dev + ":-" + ino, ino + ":" + dev, dev + ":" + ino + ":0"}) {
        INFO("JOURNAL_STREAM=" << bad);
        CHECK_FALSE(stream_is_journal(bad.c_str(), journal.fd));
    }
}

#ifdef PLANNER_RUN_PATH

namespace {

/// planner-run with no configuration (so `planner_started` is a warning) and nothing to plan,
/// stderr in `<tag>.stderr`, created first so JOURNAL_STREAM can name its device and inode
/// (the child opens it with O_TRUNC, which keeps the inode).
std::string run_with_journal_stream(const TempDir& tmp, const std::string& tag,
                                    const std::string& format, bool matching) {
    const auto err = tmp / (tag + ".stderr");
    std::ofstream(err).put('\n');
    const std::string value = matching ? dev_ino(err) : dev_ino(tmp / "unrelated");
    PlannerRunProcess run(
        kPlannerRun, tmp,
        {"--replay", "/dev/null", "--dry-run", "--model", "rules", "--log-format", format},
        {{"JOURNAL_STREAM", value}}, tag);
    REQUIRE(run.wait(60s) == 0);
    return run.stderr_text();
}

}  // namespace

TEST_CASE("planner-run prefixes <N> priorities only when stderr is the journal stream",
          "[journal][planner-run]") {
    TempDir tmp;
    std::ofstream(tmp / "unrelated").put('\n');
    // The start line is a warning without a configuration file and info with one (the host's
    // /etc/homelab-planner/planner.yaml, when the package is installed): its priority follows
    // its level either way; the exit summary is info.
    std::string start_priority;
    for (const std::string format : {"json", "text"}) {
        INFO("--log-format " << format);
        const auto journal = split_lines(run_with_journal_stream(tmp, "journal", format, true));
        const auto file = split_lines(run_with_journal_stream(tmp, "file", format, false));
        REQUIRE(journal.size() >= 2);
        REQUIRE(file.size() == journal.size());
        CHECK(journal.front().find("planner_started") != std::string::npos);
        CHECK(journal.back().starts_with("<6>"));
        CHECK(journal.back().find("planner_stopped") != std::string::npos);
        for (std::size_t i = 0; i < file.size(); ++i) {
            INFO(file[i]);
            CHECK_FALSE(file[i].starts_with("<"));
            CHECK(journal[i].starts_with("<"));
        }
        if (format == "json") {
            const auto level = nlohmann::json::parse(file.front())["level"];
            CHECK(nlohmann::json::parse(journal.front().substr(3))["level"] == level);
            REQUIRE((level == "warn" || level == "info"));
            start_priority = level == "warn" ? "<4>" : "<6>";
        }
        CHECK(journal.front().starts_with(start_priority));
    }
}

#endif  // PLANNER_RUN_PATH
