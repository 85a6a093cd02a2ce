/// The plain durable-write loop on its own: what the disk under `--dir` allows, for comparison
/// with the planner's action-file latency (bench_pipeline runs the same loop in its own run).

#include <cstdio>
#include <filesystem>

#include "bench_common.hpp"
#include "fsync_loop.hpp"

int main(int argc, char** argv) try {
    bench::Args args(argc, argv);
    const std::filesystem::path dir = args.text("--dir", "bench-fsync-dir");
    const long count = args.number("--count", 500);
    args.finish();
    std::filesystem::remove_all(dir);

    bench::Report report("fsync_loop");
    for (const bool fsync : {false, true}) {
        auto r = bench::fsync_loop(dir / (fsync ? "fsync" : "nofsync"), count, 600, fsync);
        const std::string tag = fsync ? " (fsync)" : " (no fsync)";
        report.figure("files/s" + tag, static_cast<double>(count) / r.seconds, "1/s");
        report.figure("p50" + tag, bench::percentile(r.latency_us, 50), "us");
        report.figure("p99" + tag, bench::percentile(r.latency_us, 99), "us");
    }
    std::filesystem::remove_all(dir);
    report.print_table();
    return report.exit_code();
} catch (const std::exception& e) {
    std::fprintf(stderr, "bench_fsync: %s\n", e.what());
    return 2;
}
