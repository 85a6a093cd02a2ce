#pragma once

/// The ActionStoreOptions every store test builds over its TempDir: action files in
/// `dir`/actions, the audit log in `dir`/state, no fsync. One place, so a test store never
/// points its audit log at the real default state directory by forgetting a line, and fsync
/// (slow on a shared CI disk, and nothing these tests check) is off in all of them alike.

#include <filesystem>

#include <planner/action_store.hpp>

namespace planner::testing {

/// Options for an ActionStore under `dir`; creates nothing (the first write or transition does).
inline ActionStoreOptions action_store_dirs(const std::filesystem::path& dir) {
    ActionStoreOptions o;
    o.actions_dir = dir / "actions";
    o.state_dir = dir / "state";
    o.fsync = false;
    return o;
}

}  // namespace planner::testing
