#pragma once

/// \file
/// The ActionStore over one actions directory: every state lives in the action file itself
/// (docs/executor-contract.md), so the directory stays the one truth that executors,
/// planner-ctl and the planner share without a database.

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "planner/action_store.hpp"
#include "planner/clock.hpp"
#include "planner/sinks.hpp"

namespace planner {

/// FileActionStore's options (the name predates the interface and is kept: planner-ctl,
/// planner-run and the tests build it).
struct ActionStoreOptions {
    std::filesystem::path actions_dir;
    /// Holds `audit.jsonl`; created on the first transition, so reading needs no write access.
    std::filesystem::path state_dir{std::string(kDefaultStateDir)};
    /// Age at which a pending proposal without `expires_at` expires (from its `timestamp`).
    std::chrono::seconds proposal_ttl{std::chrono::hours{24}};
    /// fsync files, the directory and the audit log. Only tests and benchmarks turn it off.
    bool fsync = true;
};

/// Reads and transitions the action files in one directory. Each transition holds an exclusive
/// `flock` on the action file, re-reads it, checks the move is allowed (a pure state machine),
/// rewrites it atomically, appends one audit line (fsynced) to `<state_dir>/audit.jsonl` and
/// emits one event file, then lets go.
///
/// Screening never opens a file: the pending index (node/service → id, expiry, occurrences) is
/// filled by the start-up scan, `added()` and this store's own writes, and an inotify watch on
/// the directory tells it when anyone else (planner-ctl, the HTTP API, another planner, an
/// executor) replaced or removed a pending file; `find_pending` drains that watch with one
/// non-blocking read and forgets such a proposal (a transition out of `pending` is the only
/// change others make to a pending file), so a decision is seen by the next screening.
/// Without inotify (limits exhausted) it falls back to re-reading the indexed file.
class FileActionStore final : public ActionStore {
  public:
    /// `events` (optional) receives `remediation_<to>` for approved, rejected, expired,
    /// succeeded and failed. Throws std::system_error when the actions directory cannot be
    /// opened.
    explicit FileActionStore(ActionStoreOptions options, EventSink* events = nullptr,
                             WallTimeSource wall = std::chrono::system_clock::now);
    ~FileActionStore() override;
    FileActionStore(const FileActionStore&) = delete;
    FileActionStore& operator=(const FileActionStore&) = delete;

    std::vector<ActionFile> list() const override;
    std::optional<ActionFile> read(std::string_view id) const override;
    TransitionResult approve(std::string_view id, const std::string& by,
                             const std::string& note) override;
    TransitionResult reject(std::string_view id, const std::string& by,
                            const std::string& reason) override;
    TransitionResult start(std::string_view id, const std::string& by) override;
    TransitionResult finish(std::string_view id, bool succeeded, const std::string& by,
                            const std::string& detail) override;
    TransitionResult expire(std::string_view id, const std::string& by = "planner") override;
    std::vector<std::string> expire_due(const std::string& by = "planner") override;
    std::vector<nlohmann::json> history(
        std::optional<std::string_view> id = std::nullopt) const override;
    std::optional<std::chrono::system_clock::time_point> expiry_of(
        const ActionFile& file) const override;
    std::size_t count_pending() override;
    std::vector<ActionFile> take_startup_scan() override;

    std::optional<std::string> find_pending(std::string_view node,
                                            std::string_view service) override;
    PendingOccurrence note_occurrence(const std::string& action_id,
                                      std::chrono::system_clock::time_point when) noexcept override;
    void added(const ActionProposal& proposal) override;
    /// read(), without throwing: nullopt for an invalid id, a missing or unreadable file.
    std::optional<ActionFile> action_file(const std::string& action_id) noexcept override;
    /// Under the file's flock, like note_occurrence; not a transition (no audit line).
    std::optional<ActionFile> escalate_pending(const std::string& action_id,
                                               const std::string& correction,
                                               const nlohmann::json& history) noexcept override;
    /// Appends to the pending file's `affected` under its flock (the same rewrite as
    /// note_occurrence).
    bool note_affected(const std::string& action_id,
                       const std::vector<std::string>& keys) noexcept override;

    const ActionStoreOptions& options() const noexcept;
    std::filesystem::path audit_log_path() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace planner
