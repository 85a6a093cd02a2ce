#include "planner/silence_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

#include "file_io.hpp"
#include "planner/action_store.hpp"
#include "planner/detail/json_limits.hpp"
#include "planner/detail/time.hpp"

namespace planner {

namespace fs = std::filesystem;
using detail::UniqueFd;

namespace {

constexpr const char* kFileName = "silences.json";
constexpr const char* kLockName = "silences.lock";
constexpr std::size_t kMaxFileBytes = 4 * 1024 * 1024;
constexpr std::size_t kMaxPatternBytes = 256;
constexpr std::size_t kMaxTextBytes = 1024;

std::chrono::system_clock::time_point from_iso(const nlohmann::json& j, const char* key) {
    const auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return {};
    const auto s = detail::parse_iso8601(it->get<std::string>());
    if (!s) return {};
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::duration<double>(*s)));
}

std::string str(const nlohmann::json& j, const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

/// The silences in `text`; nullopt when it is not a silences file. Entries that are not
/// silences (no valid id, no pattern, no times) are skipped rather than fail the whole file.
std::optional<std::vector<Silence>> parse(std::string_view text) {
    const auto doc = nlohmann::json::parse(text, nullptr, false);
    if (!doc.is_object() || !doc.contains("silences") || !doc["silences"].is_array()) {
        return std::nullopt;
    }
    std::vector<Silence> out;
    for (const auto& e : doc["silences"]) {
        if (auto s = silence_from_json(e)) out.push_back(std::move(*s));
    }
    return out;
}

/// The file's text, or nullopt when it does not exist; throws SilenceError(io) otherwise.
std::optional<std::string> read_file(const fs::path& path, struct stat* st_out = nullptr) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.get() < 0) {
        if (errno == ENOENT) return std::nullopt;
        throw SilenceError(SilenceError::Kind::io,
                           "cannot open " + path.string() + ": " + std::strerror(errno));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        throw SilenceError(SilenceError::Kind::io, path.string() + " is not a regular file");
    }
    if (st_out != nullptr) *st_out = st;
    auto read = detail::read_bounded(fd.get(), kMaxFileBytes);
    if (read.error != 0) {
        throw SilenceError(SilenceError::Kind::io,
                           "cannot read " + path.string() + ": " + std::strerror(read.error));
    }
    if (read.too_large) {
        throw SilenceError(SilenceError::Kind::io, path.string() + " is too large");
    }
    return std::move(read.text);
}

bool has_control(std::string_view s) {
    return std::any_of(s.begin(), s.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

std::string new_id(std::chrono::system_clock::time_point now) {
    // sil-20261129T101500-1a2b3c4d: sorts by creation, unique without coordination.
    std::string stamp = detail::format_iso8601_utc(now).substr(0, 19);
    std::erase_if(stamp, [](char c) { return c == '-' || c == ':'; });
    std::random_device rd;
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, "%08x", static_cast<unsigned>(rd()));
    return "sil-" + stamp + "-" + suffix;
}

}  // namespace

std::optional<Silence> silence_from_json(const nlohmann::json& e) {
    if (!e.is_object()) return std::nullopt;
    Silence s;
    s.id = str(e, "id");
    s.match = str(e, "match");
    s.created_at = from_iso(e, "created_at");
    s.ends_at = from_iso(e, "ends_at");
    s.created_by = str(e, "created_by");
    s.reason = str(e, "reason");
    s.expired_by = str(e, "expired_by");
    if (!is_valid_action_id(s.id) || s.match.empty() ||
        s.ends_at == std::chrono::system_clock::time_point{}) {
        return std::nullopt;
    }
    return s;
}

nlohmann::json to_json(const Silence& s) {
    nlohmann::json j = {{"id", s.id},
                        {"match", s.match},
                        {"created_at", format_utc_timestamp(s.created_at)},
                        {"ends_at", format_utc_timestamp(s.ends_at)},
                        {"created_by", s.created_by},
                        {"reason", s.reason}};
    if (!s.expired_by.empty()) j["expired_by"] = s.expired_by;
    return j;
}

SilenceStore::SilenceStore(SilenceStoreOptions options, WallTimeSource wall,
                           SteadyTimeSource steady)
    : options_(std::move(options)), wall_(std::move(wall)), steady_(std::move(steady)) {}

std::vector<Silence> SilenceStore::list() const {
    const auto text = read_file(path());
    if (!text) return {};
    auto parsed = parse(*text);
    if (!parsed) {
        throw SilenceError(SilenceError::Kind::io, path().string() + " is not a silences file");
    }
    return std::move(*parsed);
}

template <class Change>
auto SilenceStore::modify(Change change) {
    std::error_code ec;
    fs::create_directories(options_.state_dir, ec);
    UniqueFd dir(::open(options_.state_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() < 0) {
        throw SilenceError(SilenceError::Kind::io, "cannot open state directory " +
                                                       options_.state_dir.string() + ": " +
                                                       std::strerror(errno));
    }
    UniqueFd lock(::openat(dir.get(), kLockName, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (lock.get() < 0) {
        throw SilenceError(SilenceError::Kind::io,
                           std::string("cannot open ") + kLockName + ": " + std::strerror(errno));
    }
    while (::flock(lock.get(), LOCK_EX) != 0) {
        if (errno != EINTR) {
            throw SilenceError(SilenceError::Kind::io, std::string("cannot lock ") + kLockName +
                                                           ": " + std::strerror(errno));
        }
    }
    auto silences = list();  // under the lock: what the last writer left
    const auto now = wall_();
    bool dirty = true;
    auto result = change(silences, now, dirty);
    if (!dirty) return result;
    std::erase_if(silences,
                  [&](const Silence& s) { return s.ends_at + options_.keep_ended < now; });
    nlohmann::json doc = {{"silences", nlohmann::json::array()}};
    for (const auto& s : silences) doc["silences"].push_back(to_json(s));
    try {
        detail::write_file_atomically(dir.get(), kFileName, detail::dump_lenient(doc, 2) + "\n",
                                      options_.fsync, path());
    } catch (const std::exception& e) {
        throw SilenceError(SilenceError::Kind::io, e.what());
    }
    std::lock_guard guard(mutex_);
    checked_ = false;  // this process sees its own change at once
    return result;
}

Silence SilenceStore::add(const std::string& match, std::chrono::seconds duration,
                          const std::string& by, const std::string& reason) {
    if (match.empty() || match.size() > kMaxPatternBytes || has_control(match)) {
        throw SilenceError(SilenceError::Kind::invalid,
                           "invalid match pattern (1.." + std::to_string(kMaxPatternBytes) +
                               " printable bytes, node/service with * and ?)");
    }
    if (duration.count() <= 0 || duration > options_.max_duration) {
        throw SilenceError(SilenceError::Kind::invalid,
                           "duration must be above 0 and at most " +
                               std::to_string(options_.max_duration.count() / 3600) + "h");
    }
    if (by.empty() || by.size() > kMaxTextBytes || has_control(by)) {
        throw SilenceError(SilenceError::Kind::invalid, "--by NAME is required");
    }
    if (reason.size() > kMaxTextBytes) {
        throw SilenceError(SilenceError::Kind::invalid, "reason is longer than 1024 bytes");
    }
    return modify([&](std::vector<Silence>& all, std::chrono::system_clock::time_point now, bool&) {
        if (all.size() >= options_.max_silences) {
            throw SilenceError(
                SilenceError::Kind::conflict,
                "too many silences (" + std::to_string(all.size()) + "); expire some first");
        }
        Silence s;
        s.id = new_id(now);
        s.match = match;
        s.created_at = now;
        s.ends_at = now + duration;
        s.created_by = by;
        s.reason = reason;
        all.push_back(s);
        return s;
    });
}

Silence SilenceStore::expire(std::string_view id, const std::string& by) {
    if (!is_valid_action_id(id)) {
        throw SilenceError(SilenceError::Kind::invalid,
                           "invalid silence id (expected [A-Za-z0-9._-], 1..200 bytes)");
    }
    if (by.empty() || by.size() > kMaxTextBytes || has_control(by)) {
        throw SilenceError(SilenceError::Kind::invalid, "--by NAME is required");
    }
    return modify([&](std::vector<Silence>& all, std::chrono::system_clock::time_point now, bool&) {
        const auto it =
            std::find_if(all.begin(), all.end(), [&](const Silence& s) { return s.id == id; });
        if (it == all.end()) {
            throw SilenceError(SilenceError::Kind::not_found, "no silence " + std::string(id));
        }
        if (it->ends_at <= now) {
            throw SilenceError(SilenceError::Kind::conflict, "silence " + std::string(id) +
                                                                 " already ended at " +
                                                                 format_utc_timestamp(it->ends_at));
        }
        it->ends_at = now;
        it->expired_by = by;
        return *it;
    });
}

std::size_t SilenceStore::absorb(const std::vector<Silence>& others) {
    return modify(
        [&](std::vector<Silence>& all, std::chrono::system_clock::time_point now, bool& dirty) {
            std::size_t changed = 0;
            for (const auto& o : others) {
                const auto it = std::find_if(all.begin(), all.end(),
                                             [&](const Silence& s) { return s.id == o.id; });
                if (it == all.end()) {
                    // Long ended elsewhere: nothing to keep (the write below would drop it anyway).
                    if (o.ends_at + options_.keep_ended < now) continue;
                    if (all.size() >= options_.max_silences) break;
                    all.push_back(o);
                    ++changed;
                } else if (o.ends_at < it->ends_at) {
                    it->ends_at = o.ends_at;
                    it->expired_by = o.expired_by;
                    ++changed;
                }
            }
            std::sort(all.begin(), all.end(), [](const Silence& a, const Silence& b) {
                return a.created_at != b.created_at ? a.created_at < b.created_at : a.id < b.id;
            });
            dirty = changed > 0;
            return changed;
        });
}

std::optional<std::string> SilenceStore::active_match(std::string_view key,
                                                      std::chrono::system_clock::time_point now) {
    std::lock_guard lock(mutex_);
    const auto steady_now = steady_();
    if (!checked_ || steady_now - last_check_ >= options_.recheck_interval) {
        checked_ = true;
        last_check_ = steady_now;
        struct stat st {};
        Signature sig;
        if (::stat(path().c_str(), &st) == 0) {
            sig = {
                st.st_ino, st.st_size,
                static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
        }
        if (!(sig == seen_)) {
            try {
                const auto text = sig.size < 0 ? std::nullopt : read_file(path());
                auto parsed = text ? parse(*text) : std::make_optional(std::vector<Silence>{});
                if (!parsed) throw SilenceError(SilenceError::Kind::io, "not a silences file");
                cached_ = std::move(*parsed);
                last_error_.clear();
            } catch (const std::exception& e) {
                last_error_ = path().string() + ": " + e.what();
                // Fail-safe: the silences read before stay in force (none after a start with
                // a bad file, so events are planned and a person still decides); the next good
                // version of the file is read as usual.
                if (options_.log != nullptr) {
                    options_.log->log(LogLevel::warn, "silences_unreadable",
                                      {{"path", path().string()},
                                       {"error", e.what()},
                                       {"kept_silences", cached_.size()}});
                }
            }
            seen_ = sig;
        }
    }
    // Ended silences drop out here by themselves; the file keeps them for `list` a while.
    for (const auto& s : cached_) {
        if (s.silences(key, now)) return s.id;
    }
    return std::nullopt;
}

std::string SilenceStore::last_error() const {
    std::lock_guard lock(mutex_);
    return last_error_;
}

}  // namespace planner
