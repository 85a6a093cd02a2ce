#include "planner/file_action_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <map>
#include <mutex>
#include <system_error>

#include "action_transition.hpp"
#include "file_io.hpp"
#include "pending_index.hpp"
#include "planner/detail/json_limits.hpp"
#include "planner/detail/time.hpp"
#include "planner/file_sinks.hpp"

namespace planner {

namespace fs = std::filesystem;
using detail::UniqueFd;

namespace {

/// An action file is a few hundred bytes; anything this large is not one.
constexpr std::size_t kMaxActionFileBytes = 1024 * 1024;

using detail::throw_errno;

std::string file_name(std::string_view id) {
    if (!is_valid_action_id(id)) {
        throw ActionStoreError(ActionStoreError::Kind::invalid_id,
                               "invalid action id (expected [A-Za-z0-9._-], 1..200 bytes)");
    }
    return std::string(id) + ".json";
}

/// The action file in `fd`, or ActionStoreError(unreadable) saying what is wrong with it.
ActionFile parse_action(int fd, std::string_view id) {
    const auto text = detail::read_bounded(fd, kMaxActionFileBytes);
    if (!text) {
        throw ActionStoreError(ActionStoreError::Kind::unreadable,
                               std::string(id) + " is not a readable action file");
    }
    auto parsed = ActionFileParse{};
    const auto doc = nlohmann::json::parse(text.text, nullptr, false);
    parsed = ActionFile::from_json(doc);
    if (!parsed.file) {
        throw ActionStoreError(ActionStoreError::Kind::unreadable,
                               std::string(id) + " is not a readable action file: " + parsed.error);
    }
    return std::move(*parsed.file);
}

std::string event_severity(ActionStatus to) {
    return to == ActionStatus::failed || to == ActionStatus::expired ? "warning" : "info";
}

std::optional<detail::FileStamp> stamp_of(int dir_fd, const std::string& name) {
    struct stat st {};
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return std::nullopt;
    return detail::FileStamp{
        static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino),
        static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

/// When a pending file expires: `expires_at`, else `timestamp` + proposal_ttl.
std::optional<std::chrono::system_clock::time_point> expiry_with(const ActionStoreOptions& o,
                                                                 const ActionFile& file) {
    if (const auto at = ActionFile::time_of(file.expires_at)) return at;
    if (o.proposal_ttl.count() <= 0) return std::nullopt;  // zero: never expires
    if (const auto ts = ActionFile::time_of(file.timestamp)) return *ts + o.proposal_ttl;
    return std::nullopt;
}

std::string text_of(const nlohmann::json& line, const char* key) {
    const auto it = line.find(key);
    return it != line.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

bool is_valid_action_id(std::string_view id) noexcept {
    if (id.empty() || id.size() > 200) return false;
    for (const char c : id) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
        if (!ok) return false;
    }
    return id.front() != '.' && id.find("..") == std::string_view::npos;
}

struct FileActionStore::Impl {
    ActionStoreOptions options;
    EventSink* events;
    WallTimeSource wall;
    UniqueFd dir;    ///< the actions directory, for stamps and the watch's names
    UniqueFd watch;  ///< inotify on the actions directory; -1: re-read files instead
    std::mutex index_mutex;
    detail::PendingIndex index;
    std::vector<ActionFile> startup_scan;

    /// The pending index's view of a file this store just wrote or was told about.
    detail::PendingEntry entry_for(const ActionFile& file) const {
        detail::PendingEntry e;
        e.id = ActionFile::text(file.action_id);
        e.expiry = expiry_with(options, file);
        e.occurrences = file.times_seen();
        e.escalated = file.escalated.value_or(false);
        return e;
    }

    /// Applies what the watch saw since the last drain: an indexed pending file that someone
    /// else replaced, rewrote or removed is no longer pending as far as screening goes (others
    /// only ever move a pending file out of `pending`). One non-blocking read; no file opened.
    /// Caller holds index_mutex.
    void drain_locked() {
        if (watch.get() < 0) return;
        alignas(struct inotify_event) char buf[16384];
        bool overflow = false;
        for (;;) {
            const ssize_t n = ::read(watch.get(), buf, sizeof buf);
            if (n <= 0) {
                if (n < 0 && errno == EINTR) continue;
                break;  // EAGAIN: nothing more
            }
            for (ssize_t at = 0; at < n;) {
                const auto* ev = reinterpret_cast<const struct inotify_event*>(buf + at);
                at += static_cast<ssize_t>(sizeof(struct inotify_event) + ev->len);
                if ((ev->mask & IN_Q_OVERFLOW) != 0) overflow = true;
                if (ev->len == 0) continue;
                const std::string_view name(ev->name);
                if (!name.ends_with(".json")) continue;
                recheck_locked(name.substr(0, name.size() - 5));
            }
        }
        if (overflow) {  // events were lost: compare every indexed file's stamp
            std::vector<std::string> ids;
            index.for_each(
                [&](const std::string&, const detail::PendingEntry& e) { ids.push_back(e.id); });
            for (const auto& id : ids) recheck_locked(id);
        }
    }

    TransitionResult transition(std::string_view id, const detail::RequestedMove& move);
    template <class Change>
    std::optional<ActionFile> update_pending(const std::string& action_id, Change change) noexcept;

    void recheck_locked(std::string_view id) {
        auto* entry = index.find_id(id);
        if (entry == nullptr || entry->own_writes > 0) return;
        const auto now = stamp_of(dir.get(), std::string(id) + ".json");
        if (!now) {
            index.erase_id(id);  // removed
        } else if (!entry->stamp) {
            // Not seen yet (added() before its file was written): find_pending reads it.
        } else if (!(*now == *entry->stamp)) {
            index.erase_id(id);  // decided (or rewritten) by someone else
        }
    }
};

FileActionStore::FileActionStore(ActionStoreOptions options, EventSink* events, WallTimeSource wall)
    : impl_(std::make_unique<Impl>()) {
    impl_->options = std::move(options);
    impl_->events = events;
    impl_->wall = std::move(wall);
    // Fail early, with the path, when it is not there.
    impl_->dir = detail::open_directory(impl_->options.actions_dir);
    // The watch before the scan, so nothing that happens after the scan is missed.
    impl_->watch.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
    if (impl_->watch.get() >= 0 &&
        ::inotify_add_watch(impl_->watch.get(), impl_->options.actions_dir.c_str(),
                            IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE | IN_DELETE | IN_CREATE |
                                IN_ONLYDIR) < 0) {
        impl_->watch.reset();
    }
    impl_->startup_scan = list();
    std::map<std::string, std::string> newest;  // key → timestamp of the indexed one
    for (const auto& file : impl_->startup_scan) {
        if (file.status != ActionStatus::pending) continue;
        const std::string key = file.key();
        const std::string ts = ActionFile::text(file.timestamp);
        if (!newest.contains(key) || newest[key] <= ts) {
            newest[key] = ts;
            auto entry = impl_->entry_for(file);
            if (impl_->watch.get() >= 0) {
                entry.stamp = stamp_of(impl_->dir.get(), entry.id + ".json");
            }
            impl_->index.put(key, std::move(entry));
        }
    }
}

FileActionStore::~FileActionStore() = default;

const ActionStoreOptions& FileActionStore::options() const noexcept {
    return impl_->options;
}

fs::path FileActionStore::audit_log_path() const {
    return impl_->options.state_dir / "audit.jsonl";
}

std::vector<ActionFile> FileActionStore::take_startup_scan() {
    return std::exchange(impl_->startup_scan, {});
}

std::vector<ActionFile> FileActionStore::list() const {
    std::vector<ActionFile> out;
    const UniqueFd dir_fd = detail::open_directory(impl_->options.actions_dir);
    std::error_code ec;
    for (fs::directory_iterator it(impl_->options.actions_dir, ec), end; !ec && it != end;
         it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (!name.ends_with(".json")) continue;
        const std::string id = name.substr(0, name.size() - 5);
        if (!is_valid_action_id(id)) continue;
        UniqueFd fd(::openat(dir_fd.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        struct stat st {};
        if (fd.get() < 0 || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        try {
            auto file = parse_action(fd.get(), id);
            file.action_id = id;  // the file name is the id the commands take
            out.push_back(std::move(file));
        } catch (const ActionStoreError&) {
            // Not an action file: listing shows what can be acted on.
        }
    }
    std::sort(out.begin(), out.end(), [](const ActionFile& a, const ActionFile& b) {
        const auto ta = ActionFile::text(a.timestamp);
        const auto tb = ActionFile::text(b.timestamp);
        return ta != tb ? ta < tb : ActionFile::text(a.action_id) < ActionFile::text(b.action_id);
    });
    return out;
}

std::optional<ActionFile> FileActionStore::read(std::string_view id) const {
    const std::string name = file_name(id);
    const UniqueFd dir_fd = detail::open_directory(impl_->options.actions_dir);
    UniqueFd fd(::openat(dir_fd.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.get() < 0) {
        if (errno == ENOENT) return std::nullopt;
        throw ActionStoreError(ActionStoreError::Kind::unreadable,
                               std::string(id) + " cannot be opened");
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        throw ActionStoreError(ActionStoreError::Kind::unreadable,
                               std::string(id) + " is not a regular file");
    }
    return parse_action(fd.get(), id);
}

std::optional<std::chrono::system_clock::time_point> FileActionStore::expiry_of(
    const ActionFile& file) const {
    return expiry_with(impl_->options, file);
}

namespace {

void append_audit(const ActionStoreOptions& options, const fs::path& path,
                  const nlohmann::json& line) {
    prepare_output_directory(options.state_dir);
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0640));
    if (fd.get() < 0) throw_errno("cannot open audit log " + path.string());
    // One writer at a time across processes, so lines never interleave.
    while (::flock(fd.get(), LOCK_EX) != 0) {
        if (errno != EINTR) throw_errno("cannot lock audit log " + path.string());
    }
    std::string text = detail::dump_lenient(line) + "\n";
    std::string_view rest = text;
    while (!rest.empty()) {
        const ssize_t n = ::write(fd.get(), rest.data(), rest.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("cannot write audit log " + path.string());
        }
        rest.remove_prefix(static_cast<std::size_t>(n));
    }
    if (options.fsync && ::fsync(fd.get()) != 0) throw_errno("cannot fsync " + path.string());
}

}  // namespace

/// Reads the file under its lock, asks the state machine, stores what it says.
TransitionResult FileActionStore::Impl::transition(std::string_view id,
                                                   const detail::RequestedMove& move) {
    using Kind = ActionStoreError::Kind;
    const std::string name = file_name(id);
    const std::string what = "action " + std::string(id);
    const UniqueFd dir_fd = detail::open_directory(options.actions_dir);
    auto fd = detail::lock_existing_file(dir_fd.get(), name, what);
    if (!fd) throw ActionStoreError(Kind::not_found, "no action " + std::string(id));
    const ActionFile current = parse_action(fd->get(), id);
    const auto now = wall();
    auto outcome = detail::plan_transition(current, id, move, now, expiry_with(options, current));
    if (!outcome.file) throw *outcome.error;

    // Written, audited and evented while the lock is held, so the audit log lists one action's
    // transitions in the order they happened.
    const ActionFile& file = *outcome.file;
    const auto& audit = *outcome.audit;
    const nlohmann::json doc = file.to_json();
    detail::write_file_atomically(dir_fd.get(), name, detail::dump_lenient(doc, 2) + "\n",
                                  options.fsync, options.actions_dir / name);
    {
        // It left `pending` (every move does): screening must not find it any more.
        std::lock_guard lock(index_mutex);
        index.erase_id(id);
    }
    append_audit(options, options.state_dir / "audit.jsonl", audit.to_json());
    TransitionResult result{doc, audit.from, audit.to, ""};
    if (events != nullptr && audit.to != ActionStatus::executing) {
        PlannerEvent event;
        event.type = "remediation_" + std::string(to_string(audit.to));
        event.severity = event_severity(audit.to);
        event.service = ActionFile::text(file.service);
        event.correlation_id = std::string(id);
        event.payload = {{"action_id", id},
                         {"action_file", name},
                         {"action", file.action()},
                         {"target_node", ActionFile::text(file.node)},
                         {"from", to_string(audit.from)},
                         {"status", to_string(audit.to)},
                         {"by", audit.by},
                         {"note", audit.note}};
        try {
            events->emit(event);
        } catch (const std::exception& e) {
            result.event_error = e.what();
        }
    }
    if (outcome.error) throw *outcome.error;  // expired instead of the move asked for
    return result;
}

TransitionResult FileActionStore::approve(std::string_view id, const std::string& by,
                                          const std::string& note) {
    return impl_->transition(
        id, {detail::RequestedMove::Op::approve, ActionStatus::approved, by, note});
}

TransitionResult FileActionStore::reject(std::string_view id, const std::string& by,
                                         const std::string& reason) {
    return impl_->transition(
        id, {detail::RequestedMove::Op::reject, ActionStatus::rejected, by, reason});
}

TransitionResult FileActionStore::start(std::string_view id, const std::string& by) {
    return impl_->transition(id,
                             {detail::RequestedMove::Op::start, ActionStatus::executing, by, ""});
}

TransitionResult FileActionStore::finish(std::string_view id, bool succeeded, const std::string& by,
                                         const std::string& detail) {
    return impl_->transition(
        id, {detail::RequestedMove::Op::finish,
             succeeded ? ActionStatus::succeeded : ActionStatus::failed, by, detail});
}

TransitionResult FileActionStore::expire(std::string_view id, const std::string& by) {
    return impl_->transition(id,
                             {detail::RequestedMove::Op::expire, ActionStatus::expired, by, ""});
}

std::vector<std::string> FileActionStore::expire_due(const std::string& by) {
    std::vector<std::string> expired;
    const auto now = impl_->wall();
    for (const auto& file : list()) {
        if (file.status != ActionStatus::pending) continue;
        const auto at = expiry_of(file);
        if (!at || *at > now) continue;
        const std::string id = ActionFile::text(file.action_id);
        try {
            expire(id, by);
            expired.push_back(id);
        } catch (const ActionStoreError&) {
            // Approved, rejected or removed since it was listed: theirs won, nothing to do.
        }
    }
    return expired;
}

std::vector<nlohmann::json> FileActionStore::history(std::optional<std::string_view> id) const {
    if (id) file_name(*id);  // validates
    std::vector<nlohmann::json> out;
    UniqueFd fd(::open(audit_log_path().c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return out;
    // As before the shared read loop: a log that cannot be read whole gives no history.
    auto read = detail::read_bounded(fd.get(), std::numeric_limits<std::size_t>::max());
    const std::string text = read ? std::move(read.text) : std::string();
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        auto line =
            nlohmann::json::parse(std::string_view(text).substr(pos, end - pos), nullptr, false);
        pos = end + 1;
        if (!line.is_object()) continue;
        if (id && text_of(line, "action_id") != *id) continue;
        out.push_back(std::move(line));
    }
    std::reverse(out.begin(), out.end());
    return out;
}

std::optional<std::string> FileActionStore::find_pending(std::string_view node,
                                                         std::string_view service) {
    std::string key;
    key.append(node).append(1, '/').append(service);
    std::string id;
    {
        std::lock_guard lock(impl_->index_mutex);
        impl_->drain_locked();
        const auto* entry = impl_->index.pending(key, impl_->wall());
        if (entry == nullptr) return std::nullopt;
        if (impl_->watch.get() >= 0 && entry->stamp) return entry->id;
        id = entry->id;
    }
    // No watch, or a proposal added() before its file was there (the planner's sink writes
    // first, so only a caller of its own): the file itself says whether it is still pending.
    try {
        const auto file = read(id);
        if (file && file->status == ActionStatus::pending) {
            // The file is the truth: its expiry and counts replace what added() assumed.
            const auto fresh = impl_->entry_for(*file);
            {
                std::lock_guard lock(impl_->index_mutex);
                if (auto* e = impl_->index.find_id(id); e != nullptr) {
                    e->expiry = fresh.expiry;
                    e->occurrences = fresh.occurrences;
                    e->escalated = fresh.escalated;
                    if (impl_->watch.get() >= 0 && !e->stamp) {
                        e->stamp = stamp_of(impl_->dir.get(), id + ".json");
                    }
                }
            }
            if (const auto at = fresh.expiry; at && *at <= impl_->wall()) {
                std::lock_guard lock(impl_->index_mutex);
                impl_->index.erase_id(id);
                return std::nullopt;  // expired, even before the sweep: plan anew
            }
            return id;
        }
    } catch (const ActionStoreError&) {
    }
    std::lock_guard lock(impl_->index_mutex);
    impl_->index.erase_id(id);
    return std::nullopt;
}

/// Rewrites the pending action file `action_id` with `change` applied, under its flock; the
/// index entry follows (its stamp becomes this write's). nullopt when it is not pending (any
/// more) or `change` says there is nothing to write. Never throws.
template <class Change>
std::optional<ActionFile> FileActionStore::Impl::update_pending(const std::string& action_id,
                                                                Change change) noexcept {
    try {
        const std::string name = file_name(action_id);
        const UniqueFd dir_fd = detail::open_directory(options.actions_dir);
        auto fd = detail::lock_existing_file(dir_fd.get(), name, "action " + action_id);
        if (!fd) return std::nullopt;
        ActionFile file = parse_action(fd->get(), action_id);
        if (file.status != ActionStatus::pending || !change(file)) return std::nullopt;
        {
            std::lock_guard lock(index_mutex);
            if (auto* e = index.find_id(action_id)) ++e->own_writes;
        }
        struct Done {
            Impl& impl;
            const std::string& id;
            int dir;
            const std::string& name;
            const ActionFile& file;
            ~Done() {
                std::lock_guard lock(impl.index_mutex);
                if (auto* e = impl.index.find_id(id)) {
                    --e->own_writes;
                    // Still under the file's lock: nobody else can have replaced it yet.
                    e->stamp = stamp_of(dir, name);
                    e->occurrences = file.times_seen();
                    e->escalated = file.escalated.value_or(false);
                }
            }
        } done{*this, action_id, dir_fd.get(), name, file};
        detail::write_file_atomically(dir_fd.get(), name,
                                      detail::dump_lenient(file.to_json(), 2) + "\n", options.fsync,
                                      options.actions_dir / name);
        return file;
    } catch (...) {
        return std::nullopt;
    }
}

PendingOccurrence FileActionStore::note_occurrence(
    const std::string& action_id, std::chrono::system_clock::time_point when) noexcept {
    const auto file = impl_->update_pending(action_id, [&](ActionFile& f) {
        f.occurrences = f.times_seen() + 1;
        f.last_seen = detail::format_iso8601_utc(when);
        return true;
    });
    if (!file) return {};
    return PendingOccurrence{
        static_cast<std::size_t>(std::max<std::int64_t>(file->times_seen(), 1)),
        file->escalated.value_or(false)};
}

bool FileActionStore::note_affected(const std::string& action_id,
                                    const std::vector<std::string>& keys) noexcept {
    return impl_
        ->update_pending(action_id,
                         [&](ActionFile& file) {
                             auto& list = file.affected;
                             if (!list) list.emplace();
                             bool changed = false;
                             for (const auto& k : keys) {
                                 if (list->size() >= ActionProposal::kMaxAffected) break;
                                 if (std::find(list->begin(), list->end(), k) != list->end())
                                     continue;
                                 list->push_back(k);
                                 changed = true;
                             }
                             return changed;
                         })
        .has_value();
}

std::optional<ActionFile> FileActionStore::action_file(const std::string& action_id) noexcept {
    try {
        return read(action_id);
    } catch (...) {
        return std::nullopt;
    }
}

std::optional<ActionFile> FileActionStore::escalate_pending(
    const std::string& action_id, const std::string& correction,
    const nlohmann::json& history) noexcept {
    auto file = impl_->update_pending(action_id, [&](ActionFile& f) {
        // decide_pending_escalation decided; only a repeat is refused: people hear of it once.
        if (f.escalated.value_or(false)) return false;
        f.escalated = true;
        f.escalated_at = detail::format_iso8601_utc(impl_->wall());
        f.history = history;
        f.requires_human = true;
        f.description = ActionFile::text(f.description) + " [policy: " + correction + "]";
        return true;
    });
    if (!file) return std::nullopt;
    file->action_id = action_id;
    return file;
}

std::size_t FileActionStore::count_pending() {
    std::vector<std::string> keys;
    {
        std::lock_guard lock(impl_->index_mutex);
        impl_->drain_locked();
        if (impl_->watch.get() >= 0) return impl_->index.count(impl_->wall());
        impl_->index.for_each(
            [&](const std::string& key, const detail::PendingEntry&) { keys.push_back(key); });
    }
    // No watch: find_pending per key, the same answer the agent gets.
    std::size_t pending = 0;
    for (const auto& key : keys) {
        const auto slash = key.find('/');
        if (find_pending(std::string_view(key).substr(0, slash),
                         std::string_view(key).substr(slash + 1))) {
            ++pending;
        }
    }
    return pending;
}

void FileActionStore::added(const ActionProposal& proposal) {
    auto parsed = ActionFile::from_json(proposal.to_action_file());
    if (!parsed.file) return;
    auto entry = impl_->entry_for(*parsed.file);
    // No file yet: find_pending reads it once it is asked, and takes its stamp then.
    if (impl_->watch.get() >= 0) {
        entry.stamp = stamp_of(impl_->dir.get(), proposal.action_id + ".json");
    }
    std::lock_guard lock(impl_->index_mutex);
    impl_->index.put(proposal.node + "/" + proposal.service, std::move(entry));
}

}  // namespace planner
