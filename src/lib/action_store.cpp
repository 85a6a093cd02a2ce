#include "planner/action_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "atomic_file.hpp"
#include "planner/detail/json_limits.hpp"
#include "planner/detail/safe_name.hpp"
#include "planner/detail/time.hpp"
#include "planner/file_sinks.hpp"

namespace planner {

namespace fs = std::filesystem;
using detail::UniqueFd;

namespace {

/// An action file is a few hundred bytes; anything this large is not one.
constexpr std::size_t kMaxActionFileBytes = 1024 * 1024;

[[noreturn]] void throw_errno(const std::string& what) {
    throw std::system_error(errno, std::generic_category(), what);
}

UniqueFd open_dir(const fs::path& dir) {
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0) throw_errno("cannot open directory " + dir.string());
    return fd;
}

std::string file_name(std::string_view id) {
    if (!is_valid_action_id(id)) {
        throw ActionStoreError(ActionStoreError::Kind::invalid_id,
                               "invalid action id (expected [A-Za-z0-9._-], 1..200 bytes)");
    }
    return std::string(id) + ".json";
}

/// The whole content of `fd`, or nullopt past kMaxActionFileBytes.
std::optional<std::string> read_all(int fd) {
    std::string out;
    char buf[8192];
    for (;;) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return std::nullopt;
        }
        if (n == 0) return out;
        out.append(buf, static_cast<std::size_t>(n));
        if (out.size() > kMaxActionFileBytes) return std::nullopt;
    }
}

nlohmann::json parse_action(const std::optional<std::string>& text, std::string_view id) {
    auto file = text ? nlohmann::json::parse(*text, nullptr, false) : nlohmann::json();
    if (!file.is_object() || !file.contains("status") || !file["status"].is_string() ||
        !parse_action_status(file["status"].get<std::string>())) {
        throw ActionStoreError(ActionStoreError::Kind::unreadable,
                               std::string(id) + " is not a readable action file");
    }
    return file;
}

ActionStatus status_of(const nlohmann::json& file) {
    return *parse_action_status(file.at("status").get<std::string>());
}

std::string string_field(const nlohmann::json& file, const char* key) {
    const auto it = file.find(key);
    return it != file.end() && it->is_string() ? it->get<std::string>() : std::string();
}

/// An action file held under an exclusive flock: the lock is on the inode that is `name`
/// right now, so a writer that renamed a new file over it meanwhile is noticed and retried.
struct LockedAction {
    UniqueFd fd;
    nlohmann::json file;
};

std::optional<LockedAction> lock_action(int dir_fd, const std::string& name, std::string_view id) {
    for (;;) {
        UniqueFd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        if (fd.get() < 0) {
            if (errno == ENOENT) return std::nullopt;
            throw_errno("cannot open action " + std::string(id));
        }
        while (::flock(fd.get(), LOCK_EX) != 0) {
            if (errno != EINTR) throw_errno("cannot lock action " + std::string(id));
        }
        struct stat held {};
        struct stat current {};
        if (::fstat(fd.get(), &held) != 0) throw_errno("cannot stat action " + std::string(id));
        if (::fstatat(dir_fd, name.c_str(), &current, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT) return std::nullopt;
            throw_errno("cannot stat action " + std::string(id));
        }
        if (held.st_ino != current.st_ino || held.st_dev != current.st_dev) continue;
        if (!S_ISREG(held.st_mode)) return std::nullopt;
        auto file = parse_action(read_all(fd.get()), id);
        return LockedAction{std::move(fd), std::move(file)};
    }
}

/// Who moved the proposal into its current state, and when, from the file itself.
std::string describe_state(const nlohmann::json& file, std::string_view id) {
    const ActionStatus s = status_of(file);
    const char* by_key = "decided_by";
    const char* at_key = "decided_at";
    if (s == ActionStatus::executing) {
        by_key = "started_by";
        at_key = "started_at";
    } else if (s == ActionStatus::succeeded || s == ActionStatus::failed) {
        by_key = "finished_by";
        at_key = "finished_at";
    } else if (s == ActionStatus::pending) {
        return std::string(id) + " is still pending";
    }
    std::string out = std::string(id) + " already " + std::string(to_string(s));
    const std::string by = string_field(file, by_key);
    const std::string at = string_field(file, at_key);
    if (!by.empty()) out += " by " + by;
    if (!at.empty()) out += " at " + at;
    return out;
}

std::string event_severity(ActionStatus to) {
    return to == ActionStatus::failed || to == ActionStatus::expired ? "warning" : "info";
}

}  // namespace

std::string_view to_string(ActionStatus s) noexcept {
    switch (s) {
        case ActionStatus::pending:
            return "pending";
        case ActionStatus::approved:
            return "approved";
        case ActionStatus::rejected:
            return "rejected";
        case ActionStatus::expired:
            return "expired";
        case ActionStatus::executing:
            return "executing";
        case ActionStatus::succeeded:
            return "succeeded";
        case ActionStatus::failed:
            return "failed";
    }
    return "pending";
}

std::optional<ActionStatus> parse_action_status(std::string_view s) noexcept {
    for (const auto status : {ActionStatus::pending, ActionStatus::approved, ActionStatus::rejected,
                              ActionStatus::expired, ActionStatus::executing,
                              ActionStatus::succeeded, ActionStatus::failed}) {
        if (to_string(status) == s) return status;
    }
    return std::nullopt;
}

bool is_valid_action_id(std::string_view id) noexcept {
    if (id.empty() || id.size() > 200) return false;
    for (const char c : id) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
        if (!ok) return false;
    }
    return id.front() != '.' && id.find("..") == std::string_view::npos;
}

/// One requested transition.
struct ActionStore::Move {
    enum class Op { approve, reject, start, finish, expire } op;
    ActionStatus to;
    std::string by;
    std::string note;
};

ActionStore::ActionStore(ActionStoreOptions options, EventSink* events, WallTimeSource wall)
    : options_(std::move(options)), events_(events), wall_(std::move(wall)) {
    open_dir(options_.actions_dir);             // fail early, with the path, when it is not there
    std::map<std::string, std::string> newest;  // key → timestamp of the indexed one
    for (const auto& file : list()) {
        if (status_of(file) != ActionStatus::pending) continue;
        const std::string key = string_field(file, "node") + "/" + string_field(file, "service");
        const std::string ts = string_field(file, "timestamp");
        if (!newest.contains(key) || newest[key] <= ts) {
            newest[key] = ts;
            pending_by_key_[key] = string_field(file, "action_id");
        }
    }
}

std::vector<nlohmann::json> ActionStore::list() const {
    std::vector<nlohmann::json> out;
    const UniqueFd dir_fd = open_dir(options_.actions_dir);
    std::error_code ec;
    for (fs::directory_iterator it(options_.actions_dir, ec), end; !ec && it != end;
         it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (!name.ends_with(".json")) continue;
        const std::string id = name.substr(0, name.size() - 5);
        if (!is_valid_action_id(id)) continue;
        UniqueFd fd(::openat(dir_fd.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
        struct stat st {};
        if (fd.get() < 0 || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        try {
            auto file = parse_action(read_all(fd.get()), id);
            file["action_id"] = id;  // the file name is the id the commands take
            out.push_back(std::move(file));
        } catch (const ActionStoreError&) {
            // Not an action file: listing shows what can be acted on.
        }
    }
    std::sort(out.begin(), out.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
        const auto ta = string_field(a, "timestamp");
        const auto tb = string_field(b, "timestamp");
        return ta != tb ? ta < tb : string_field(a, "action_id") < string_field(b, "action_id");
    });
    return out;
}

std::optional<nlohmann::json> ActionStore::read(std::string_view id) const {
    const std::string name = file_name(id);
    const UniqueFd dir_fd = open_dir(options_.actions_dir);
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
    return parse_action(read_all(fd.get()), id);
}

std::optional<std::chrono::system_clock::time_point> ActionStore::expiry_of(
    const nlohmann::json& file) const {
    using namespace std::chrono;
    if (const auto at = detail::parse_iso8601(string_field(file, "expires_at"))) {
        return system_clock::time_point{
            duration_cast<system_clock::duration>(duration<double>(*at))};
    }
    if (options_.proposal_ttl.count() <= 0) return std::nullopt;  // zero: never expires
    if (const auto ts = detail::parse_iso8601(string_field(file, "timestamp"))) {
        return system_clock::time_point{
                   duration_cast<system_clock::duration>(duration<double>(*ts))} +
               options_.proposal_ttl;
    }
    return std::nullopt;
}

TransitionResult ActionStore::approve(std::string_view id, const std::string& by,
                                      const std::string& note) {
    return apply(id, Move{Move::Op::approve, ActionStatus::approved, by, note});
}

TransitionResult ActionStore::reject(std::string_view id, const std::string& by,
                                     const std::string& reason) {
    return apply(id, Move{Move::Op::reject, ActionStatus::rejected, by, reason});
}

TransitionResult ActionStore::start(std::string_view id, const std::string& by) {
    return apply(id, Move{Move::Op::start, ActionStatus::executing, by, ""});
}

TransitionResult ActionStore::finish(std::string_view id, bool succeeded, const std::string& by,
                                     const std::string& detail) {
    return apply(id, Move{Move::Op::finish,
                          succeeded ? ActionStatus::succeeded : ActionStatus::failed, by, detail});
}

TransitionResult ActionStore::expire(std::string_view id, const std::string& by) {
    return apply(id, Move{Move::Op::expire, ActionStatus::expired, by, ""});
}

std::vector<std::string> ActionStore::expire_due(const std::string& by) {
    std::vector<std::string> expired;
    const auto now = wall_();
    for (const auto& file : list()) {
        if (status_of(file) != ActionStatus::pending) continue;
        const auto at = expiry_of(file);
        if (!at || *at > now) continue;
        const std::string id = string_field(file, "action_id");
        try {
            expire(id, by);
            expired.push_back(id);
        } catch (const ActionStoreError&) {
            // Approved, rejected or removed since it was listed: theirs won, nothing to do.
        }
    }
    return expired;
}

TransitionResult ActionStore::apply(std::string_view id, const Move& move) {
    using Kind = ActionStoreError::Kind;
    const std::string name = file_name(id);
    const UniqueFd dir_fd = open_dir(options_.actions_dir);
    auto locked = lock_action(dir_fd.get(), name, id);
    if (!locked) throw ActionStoreError(Kind::not_found, "no action " + std::string(id));
    nlohmann::json& file = locked->file;
    const ActionStatus from = status_of(file);
    const auto now = wall_();
    const std::string now_text = detail::format_iso8601_utc(now);
    const auto expiry = expiry_of(file);
    const bool due = from == ActionStatus::pending && expiry && *expiry <= now;

    // Writes the file, then the audit line, then the event, all while the lock is held, so the
    // audit log lists one action's transitions in the order they happened.
    auto commit = [&](ActionStatus to, const std::string& by, const std::string& note) {
        file["status"] = std::string(to_string(to));
        switch (to) {
            case ActionStatus::executing:
                file["started_by"] = by;
                file["started_at"] = now_text;
                break;
            case ActionStatus::succeeded:
            case ActionStatus::failed:
                file["finished_by"] = by;
                file["finished_at"] = now_text;
                file["result"] = note;
                break;
            default:
                file["decided_by"] = by;
                file["decided_at"] = now_text;
                file["decision_note"] = note;
                break;
        }
        detail::write_file_atomically(dir_fd.get(), name, detail::dump_lenient(file, 2) + "\n",
                                      options_.fsync, options_.actions_dir / name);
        append_audit({{"at", now_text},
                      {"action_id", id},
                      {"node", string_field(file, "node")},
                      {"service", string_field(file, "service")},
                      {"from", to_string(from)},
                      {"to", to_string(to)},
                      {"by", by},
                      {"note", note}});
        TransitionResult result{file, from, to, ""};
        if (events_ != nullptr && to != ActionStatus::executing) {
            PlannerEvent event;
            event.type = "remediation_" + std::string(to_string(to));
            event.severity = event_severity(to);
            event.service = string_field(file, "service");
            event.correlation_id = std::string(id);
            event.payload = {
                {"action_id", id},
                {"action_file", name},
                {"action", file.value(nlohmann::json::json_pointer("/payload/action"), "")},
                {"target_node", string_field(file, "node")},
                {"from", to_string(from)},
                {"status", to_string(to)},
                {"by", by},
                {"note", note}};
            try {
                events_->emit(event);
            } catch (const std::exception& e) {
                result.event_error = e.what();
            }
        }
        return result;
    };
    // Only called when `due`, so `expiry` is set.
    auto expire_now = [&](const std::string& why) {
        commit(ActionStatus::expired, "planner",
               "pending past " + detail::format_iso8601_utc(*expiry));
        throw ActionStoreError(Kind::expired, why);
    };

    switch (move.op) {
        case Move::Op::approve:
        case Move::Op::reject:
            if (due)
                expire_now(std::string(id) + " expired at " + detail::format_iso8601_utc(*expiry));
            if (from != ActionStatus::pending) {
                throw ActionStoreError(
                    from == ActionStatus::expired ? Kind::expired : Kind::conflict,
                    describe_state(file, id));
            }
            break;
        case Move::Op::start:
            if (from == ActionStatus::pending) {
                if (due)
                    expire_now(std::string(id) + " expired at " +
                               detail::format_iso8601_utc(*expiry));
                if (file.value("requires_human", true)) {
                    throw ActionStoreError(Kind::conflict,
                                           std::string(id) + " requires a human's approval first");
                }
            } else if (from != ActionStatus::approved) {
                throw ActionStoreError(
                    from == ActionStatus::expired ? Kind::expired : Kind::conflict,
                    describe_state(file, id));
            }
            break;
        case Move::Op::finish:
            if (from != ActionStatus::executing) {
                throw ActionStoreError(Kind::conflict,
                                       from == ActionStatus::approved
                                           ? std::string(id) + " was approved but never started"
                                           : describe_state(file, id));
            }
            break;
        case Move::Op::expire:
            if (from != ActionStatus::pending) {
                throw ActionStoreError(Kind::conflict, describe_state(file, id));
            }
            if (!due) {
                throw ActionStoreError(
                    Kind::conflict,
                    std::string(id) + " does not expire until " +
                        (expiry ? detail::format_iso8601_utc(*expiry) : std::string("never")));
            }
            return commit(ActionStatus::expired, move.by,
                          "pending past " + detail::format_iso8601_utc(*expiry));
    }
    return commit(move.to, move.by, move.note);
}

void ActionStore::append_audit(const nlohmann::json& line) {
    prepare_output_directory(options_.state_dir);
    const fs::path path = audit_log_path();
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
    if (options_.fsync && ::fsync(fd.get()) != 0) throw_errno("cannot fsync " + path.string());
}

std::vector<nlohmann::json> ActionStore::history(std::optional<std::string_view> id) const {
    if (id) file_name(*id);  // validates
    std::vector<nlohmann::json> out;
    UniqueFd fd(::open(audit_log_path().c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return out;
    std::string text;
    char buf[65536];
    for (ssize_t n; (n = ::read(fd.get(), buf, sizeof buf)) != 0;) {
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        text.append(buf, static_cast<std::size_t>(n));
    }
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find('\n', pos);
        if (end == std::string::npos) end = text.size();
        auto line =
            nlohmann::json::parse(std::string_view(text).substr(pos, end - pos), nullptr, false);
        pos = end + 1;
        if (!line.is_object()) continue;
        if (id && string_field(line, "action_id") != *id) continue;
        out.push_back(std::move(line));
    }
    std::reverse(out.begin(), out.end());
    return out;
}

std::optional<std::string> ActionStore::find_pending(std::string_view node,
                                                     std::string_view service) {
    std::string key;
    key.append(node).append(1, '/').append(service);
    std::lock_guard lock(index_mutex_);
    const auto it = pending_by_key_.find(key);
    if (it == pending_by_key_.end()) return std::nullopt;
    try {
        const auto file = read(it->second);
        if (file && status_of(*file) == ActionStatus::pending) {
            const auto expiry = expiry_of(*file);
            if (!expiry || *expiry > wall_()) return it->second;
        }
    } catch (const ActionStoreError&) {
    }
    // Decided, expired or gone: a new event for the service deserves a new proposal.
    pending_by_key_.erase(it);
    return std::nullopt;
}

/// Rewrites the pending action file `action_id` with `change` applied, under its flock; false
/// when it is not pending (any more) or `change` says there is nothing to write. Never throws.
template <class Change>
bool ActionStore::update_pending(const std::string& action_id, Change change) noexcept {
    try {
        const std::string name = file_name(action_id);
        const UniqueFd dir_fd = open_dir(options_.actions_dir);
        auto locked = lock_action(dir_fd.get(), name, action_id);
        if (!locked || status_of(locked->file) != ActionStatus::pending) return false;
        if (!change(locked->file)) return false;
        detail::write_file_atomically(dir_fd.get(), name,
                                      detail::dump_lenient(locked->file, 2) + "\n", options_.fsync,
                                      options_.actions_dir / name);
        return true;
    } catch (...) {
        return false;
    }
}

PendingOccurrence ActionStore::note_occurrence(
    const std::string& action_id, std::chrono::system_clock::time_point when) noexcept {
    PendingOccurrence now;
    const bool noted = update_pending(action_id, [&](nlohmann::json& file) {
        const auto it = file.find("occurrences");
        const std::int64_t seen =
            it != file.end() && it->is_number_integer() ? it->get<std::int64_t>() : 1;
        file["occurrences"] = seen + 1;
        file["last_seen"] = detail::format_iso8601_utc(when);
        now.occurrences = static_cast<std::size_t>(std::max<std::int64_t>(seen + 1, 1));
        const auto flag = file.find("escalated");
        now.escalated = flag != file.end() && flag->is_boolean() && flag->get<bool>();
        return true;
    });
    return noted ? now : PendingOccurrence{};
}

bool ActionStore::note_affected(const std::string& action_id,
                                const std::vector<std::string>& keys) noexcept {
    return update_pending(action_id, [&](nlohmann::json& file) {
        auto& list = file["affected"];
        if (!list.is_array()) list = nlohmann::json::array();
        bool changed = false;
        for (const auto& k : keys) {
            if (list.size() >= ActionProposal::kMaxAffected) break;
            if (std::find(list.begin(), list.end(), k) != list.end()) continue;
            list.push_back(k);
            changed = true;
        }
        return changed;
    });
}

std::optional<nlohmann::json> ActionStore::action_file(const std::string& action_id) noexcept {
    try {
        return read(action_id);
    } catch (...) {
        return std::nullopt;
    }
}

std::optional<nlohmann::json> ActionStore::escalate_pending(
    const std::string& action_id, const std::string& correction,
    const nlohmann::json& history) noexcept {
    try {
        const std::string name = file_name(action_id);
        const UniqueFd dir_fd = open_dir(options_.actions_dir);
        auto locked = lock_action(dir_fd.get(), name, action_id);
        if (!locked || status_of(locked->file) != ActionStatus::pending) return std::nullopt;
        auto& file = locked->file;
        const auto flag = file.find("escalated");
        if (flag != file.end() && flag->is_boolean() && flag->get<bool>()) {
            return std::nullopt;  // already: people hear about it once
        }
        file["escalated"] = true;
        file["escalated_at"] = detail::format_iso8601_utc(wall_());
        file["history"] = history;
        file["requires_human"] = true;
        file["description"] = string_field(file, "description") + " [policy: " + correction + "]";
        detail::write_file_atomically(dir_fd.get(), name, detail::dump_lenient(file, 2) + "\n",
                                      options_.fsync, options_.actions_dir / name);
        file["action_id"] = action_id;
        return std::move(file);
    } catch (...) {
        return std::nullopt;
    }
}

std::size_t ActionStore::count_pending() {
    std::vector<std::string> keys;
    {
        std::lock_guard lock(index_mutex_);
        for (const auto& [key, id] : pending_by_key_) keys.push_back(key);
    }
    // find_pending per key: the same answer the agent gets, and it forgets what was decided.
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

void ActionStore::added(const ActionProposal& proposal) {
    std::lock_guard lock(index_mutex_);
    pending_by_key_[proposal.node + "/" + proposal.service] = proposal.action_id;
}

}  // namespace planner
