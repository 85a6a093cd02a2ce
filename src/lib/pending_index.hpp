#pragma once

// The store's in-memory answer to "is a proposal for this node/service still pending?", so the
// agent's screening never opens a file. Compiled internal; not thread-safe by itself (the store
// guards it with its own mutex).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace planner::detail {

/// Which version of a file an index entry describes: the inode and modification time this
/// store last saw (its own write, or the file `added()` was told about). Another process that
/// replaces the file (rename) or rewrites it in place changes one of them.
struct FileStamp {
    std::uint64_t dev = 0;
    std::uint64_t ino = 0;
    std::int64_t mtime_ns = 0;
    friend bool operator==(const FileStamp&, const FileStamp&) = default;
};

/// One pending proposal as the agent needs it.
struct PendingEntry {
    std::string id;
    /// When it stops counting as pending; nullopt: never (proposal_ttl 0, no expires_at).
    std::optional<std::chrono::system_clock::time_point> expiry;
    std::int64_t occurrences = 1;
    bool escalated = false;
    std::optional<FileStamp> stamp;  ///< nullopt: not known (no file watch in use)
    int own_writes = 0;              ///< this store is rewriting it now: changes are its own
};

/// node/service → the pending proposal, and back from the id.
class PendingIndex {
  public:
    /// Indexes `entry` for `key`, replacing what was there.
    void put(const std::string& key, PendingEntry entry) {
        if (const auto it = by_key_.find(key); it != by_key_.end()) key_by_id_.erase(it->second.id);
        key_by_id_[entry.id] = key;
        by_key_[key] = std::move(entry);
    }
    PendingEntry* find_key(std::string_view key) {
        const auto it = by_key_.find(key);
        return it == by_key_.end() ? nullptr : &it->second;
    }
    PendingEntry* find_id(std::string_view id) {
        const auto k = key_by_id_.find(id);
        return k == key_by_id_.end() ? nullptr : find_key(k->second);
    }
    /// Forgets `id` (decided, expired, removed); false when it was not indexed.
    bool erase_id(std::string_view id) {
        const auto k = key_by_id_.find(id);
        if (k == key_by_id_.end()) return false;
        by_key_.erase(k->second);
        key_by_id_.erase(k);
        return true;
    }
    /// The pending, unexpired entry for `key` at `now`; an expired one is forgotten.
    const PendingEntry* pending(std::string_view key, std::chrono::system_clock::time_point now) {
        const auto it = by_key_.find(key);
        if (it == by_key_.end()) return nullptr;
        if (it->second.expiry && *it->second.expiry <= now) {
            key_by_id_.erase(it->second.id);
            by_key_.erase(it);
            return nullptr;
        }
        return &it->second;
    }
    /// How many are pending and unexpired at `now` (forgetting the expired ones).
    std::size_t count(std::chrono::system_clock::time_point now) {
        std::size_t n = 0;
        for (auto it = by_key_.begin(); it != by_key_.end();) {
            if (it->second.expiry && *it->second.expiry <= now) {
                key_by_id_.erase(it->second.id);
                it = by_key_.erase(it);
            } else {
                ++n;
                ++it;
            }
        }
        return n;
    }
    template <class F>
    void for_each(F f) {
        for (auto& [key, entry] : by_key_) f(key, entry);
    }
    std::size_t size() const noexcept { return by_key_.size(); }

  private:
    std::map<std::string, PendingEntry, std::less<>> by_key_;
    std::map<std::string, std::string, std::less<>> key_by_id_;
};

}  // namespace planner::detail
