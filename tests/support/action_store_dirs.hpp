#pragma once

/// The ActionStoreOptions every store test builds over its TempDir: action files in
/// `dir`/actions, the audit log in `dir`/state, no fsync. One place, so a test store never
/// points its audit log at the real default state directory by forgetting a line, and fsync
/// (slow on a shared CI disk, and nothing these tests check) is off in all of them alike.

#include <filesystem>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include <planner/file_action_store.hpp>

namespace planner::testing {

/// Options for an ActionStore under `dir`; creates nothing (the first write or transition does).
inline ActionStoreOptions action_store_dirs(const std::filesystem::path& dir) {
    ActionStoreOptions o;
    o.actions_dir = dir / "actions";
    o.state_dir = dir / "state";
    o.fsync = false;
    return o;
}

/// What a store read, as the document on disk: the tests check files key by key.
inline std::optional<nlohmann::json> as_json(const std::optional<ActionFile>& file) {
    if (!file) return std::nullopt;
    return file->to_json();
}

inline std::vector<nlohmann::json> as_json(const std::vector<ActionFile>& files) {
    std::vector<nlohmann::json> out;
    for (const auto& f : files) out.push_back(f.to_json());
    return out;
}

}  // namespace planner::testing
