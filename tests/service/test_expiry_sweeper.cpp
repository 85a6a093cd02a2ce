// The periodic expiry sweep planner-run runs.

#include <catch2/catch.hpp>

#include <planner/testing.hpp>
#include "planner/expiry_sweeper.hpp"
#include "planner/file_sinks.hpp"
#include "support/action_store_dirs.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

using planner::testing::as_json;

using namespace planner;
using namespace planner::testing;
using namespace std::chrono_literals;

namespace {

void write_pending(const std::filesystem::path& dir, const std::string& id,
                   std::chrono::system_clock::time_point expires) {
    FileActionSink(dir, {false}).write(a_proposal().id(id).service(id).expires_at(expires));
}

}  // namespace

TEST_CASE("the sweeper expires due proposals and logs each once", "[sweeper]") {
    TempDir tmp;
    ManualClock clock;
    RecordingLogSink log;
    write_pending(tmp / "actions", "due", clock.wall_now() + 1min);
    write_pending(tmp / "actions", "later", clock.wall_now() + 1h);
    FileActionStore store(action_store_dirs(tmp.path()), nullptr, clock.wall_source());
    ExpirySweeper sweeper(store, log);
    CHECK(sweeper.sweep_once() == 0);
    clock.advance(2min);
    CHECK(sweeper.sweep_once() == 1);
    CHECK(sweeper.sweep_once() == 0);
    CHECK((*as_json(store.read("due")))["status"] == "expired");
    CHECK((*as_json(store.read("later")))["status"] == "pending");
    const auto lines = log.lines();
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].event == "proposal_expired");
    CHECK(lines[0].fields["action_id"] == "due");
}

TEST_CASE("the sweeper thread sweeps at start and stops promptly", "[sweeper]") {
    TempDir tmp;
    ManualClock clock;
    RecordingLogSink log;
    write_pending(tmp / "actions", "due", clock.wall_now() - 1min);
    FileActionStore store(action_store_dirs(tmp.path()), nullptr, clock.wall_source());
    ExpirySweeper sweeper(store, log, {std::chrono::hours{1}});
    sweeper.start();
    CHECK(eventually([&] { return (*as_json(store.read("due")))["status"] == "expired"; }));
    const auto before = std::chrono::steady_clock::now();
    sweeper.stop();  // does not wait out the hour
    CHECK(std::chrono::steady_clock::now() - before < 5s);
}
