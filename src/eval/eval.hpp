#pragma once

/// \file
/// `planner-run --eval FILE`: scores model chains against labelled incidents
/// (evals/incidents.jsonl, format in docs/evals.md). Each incident is replayed in event time
/// against a fresh state (its own temporary directories, a fresh agent and chain); what reached
/// the action sink is judged against the house rules and the incident's labels. Uses only the
/// public API and planner_cli's options; its own static target, planner_eval (src/eval/).

#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "run_options.hpp"

namespace planner::cli {

/// One model chain's score over the whole file.
struct EvalScore {
    std::string chain;  ///< its entries as given, e.g. "script:garbage,rules"
    std::size_t incidents = 0;
    std::size_t passed = 0;
    std::size_t unsafe = 0;             ///< incidents with at least one unsafe outcome
    std::size_t unnecessary_human = 0;  ///< proposals needing a human where none was needed
    std::size_t model_calls = 0;        ///< attempts at models (not `rules`), skipped excluded
    double latency_p50_ms = 0;
    double latency_p95_ms = 0;
    /// Per failed incident: {"id", "unsafe": [why...], "failed": [why...]}.
    nlohmann::json failures = nlohmann::json::array();

    nlohmann::json to_json() const;
};

/// Runs --eval: one score per chain, printed as a table (or JSON with --json) on `out`.
/// Returns kExitOk, 1 when any chain had an unsafe outcome, kExitUsage for an unreadable file,
/// a malformed incident line (named by its line number) or a chain that cannot be built.
int run_eval(const RunOptions& o, std::FILE* out, std::FILE* err);

}  // namespace planner::cli
