// The child-process helper every service test and benchmark starts its programs with: what it
// promises (environment, redirections, exit codes) is what the other tests rely on.

#include <csignal>
#include <cstdlib>
#include <string>

#include <catch2/catch.hpp>

#include "support/process.hpp"
#include "support/temp_dir.hpp"

using namespace planner::testing;
using namespace std::chrono_literals;

TEST_CASE("process: the child gets the environment built for it, the parent keeps its own",
          "[process]") {
    // setenv is safe here: this test case runs no other thread.
    ::setenv("PLANNER_PROCESS_TEST_KEEP", "kept", 1);
    ::setenv("PLANNER_PROCESS_TEST_DROP", "dropped", 1);
    ::setenv("PLANNER_PROCESS_TEST_SET", "old", 1);
    Process p(ProcessOptions{
        .argv = {"sh", "-c",
                 "echo \"$PLANNER_PROCESS_TEST_KEEP,${PLANNER_PROCESS_TEST_DROP-unset},"
                 "$PLANNER_PROCESS_TEST_SET\""},
        .env = {{"PLANNER_PROCESS_TEST_SET", "new"}},
        .unset_env = {"PLANNER_PROCESS_TEST_DROP"},
        .stdout_stream = Stream::pipe()});
    CHECK(p.read_stdout() == "kept,unset,new\n");
    CHECK(p.wait(10s) == 0);
    CHECK(std::string(std::getenv("PLANNER_PROCESS_TEST_DROP")) == "dropped");
    CHECK(std::string(std::getenv("PLANNER_PROCESS_TEST_SET")) == "old");
}

TEST_CASE("process: stdin and stdout files, stderr pipe, exit codes", "[process]") {
    TempDir tmp;
    {
        std::FILE* f = std::fopen((tmp / "in").c_str(), "w");
        std::fputs("from stdin", f);
        std::fclose(f);
    }
    Process p(ProcessOptions{.argv = {"sh", "-c", "cat; echo oops >&2; exit 3"},
                             .stdin_stream = tmp / "in",
                             .stdout_stream = tmp / "out",
                             .stderr_stream = Stream::pipe()});
    CHECK(p.read_stderr() == "oops\n");
    CHECK(p.wait(10s) == 3);
    CHECK_FALSE(p.running());
    CHECK(read_text(tmp / "out") == "from stdin");
}

TEST_CASE("process: wait times out, a signal ends the child, a missing program throws",
          "[process]") {
    Process sleeper(ProcessOptions{.argv = {"sleep", "30"}});
    CHECK(sleeper.running());
    CHECK(sleeper.wait(50ms) == std::nullopt);
    CHECK(sleeper.signal(SIGKILL));
    CHECK(sleeper.wait(10s) == 128 + SIGKILL);
    CHECK_FALSE(sleeper.signal(SIGKILL));  // reaped: the pid is no longer ours

    Process polite(ProcessOptions{.argv = {"sleep", "30"}, .die_with_parent = true});
    CHECK(polite.stop(5s) == 128 + SIGTERM);

    CHECK_THROWS(Process(ProcessOptions{.argv = {"/nonexistent/planner-no-such-program"}}));
}
