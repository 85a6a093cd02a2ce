#include "planner/file_sinks.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

#include "file_io.hpp"
#include "planner/detail/json_limits.hpp"
#include "planner/detail/safe_name.hpp"
#include "planner/detail/time.hpp"

namespace planner {

namespace fs = std::filesystem;

namespace {

using detail::throw_errno;
using detail::UniqueFd;

/// Opens (creating when missing) the subdirectory `name` of `parent_fd`, refusing symlinks so a
/// link planted in the tree cannot redirect writes elsewhere.
UniqueFd open_subdirectory(int parent_fd, const std::string& name, bool fsync) {
    if (!detail::is_contained_component(name)) {
        throw std::invalid_argument("unsafe directory name");
    }
    if (::mkdirat(parent_fd, name.c_str(), 0755) == 0) {
        // The new entry must survive a crash too, or the file inside it is lost.
        if (fsync && ::fsync(parent_fd) != 0) throw_errno("cannot fsync directory");
    } else if (errno != EEXIST) {
        throw_errno("cannot create directory " + name);
    }
    UniqueFd fd(::openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.get() < 0) throw_errno("cannot open directory " + name);
    return fd;
}

/// The lexical backstop behind the per-component checks: `root/relative` must stay in `root`.
void check_inside(const fs::path& root, const fs::path& relative) {
    const fs::path normal = (root / relative).lexically_normal();
    const fs::path rel = normal.lexically_relative(root.lexically_normal());
    if (rel.empty() || rel.is_absolute() || *rel.begin() == "..") {
        throw std::invalid_argument("path escapes the output directory");
    }
}

}  // namespace

void write_file_atomically(const fs::path& file, std::string_view content, bool fsync) {
    const fs::path dir = file.parent_path().empty() ? fs::path(".") : file.parent_path();
    UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir_fd.get() < 0) throw_errno("cannot open the directory of " + file.string());
    detail::write_file_atomically(dir_fd.get(), file.filename().string(), content, fsync, file);
}

std::size_t remove_stale_temporaries(const fs::path& dir, int max_depth) {
    std::size_t removed = 0;
    std::error_code ec;
    fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (it.depth() >= max_depth) it.disable_recursion_pending();
        const auto status = it->symlink_status(ec);
        if (ec) break;
        if (fs::is_regular_file(status) &&
            it->path().filename().string().starts_with(kTempFilePrefix)) {
            if (fs::remove(it->path(), ec)) ++removed;
        }
    }
    return removed;
}

void prepare_output_directory(const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw std::system_error(ec, "cannot create directory " + dir.string());
    if (!fs::is_directory(dir, ec)) {
        throw std::system_error(std::make_error_code(std::errc::not_a_directory),
                                dir.string() + " is not a directory");
    }
    // access() asks the kernel with this process's real rights, capabilities included.
    if (::access(dir.c_str(), W_OK | X_OK) != 0) throw_errno(dir.string() + " is not writable");
}

std::string action_file_text(const ActionProposal& proposal) {
    std::string text = detail::dump_lenient(proposal.to_action_file(), 2);
    text += '\n';
    return text;
}

std::string event_file_text(const PlannerEvent& event, const std::string& node,
                            const std::string& timestamp) {
    // Assigned key by key: an initializer list builds a two-element array per key first.
    nlohmann::json doc = nlohmann::json::object();
    doc["type"] = event.type;
    doc["severity"] = event.severity;
    doc["node"] = node;
    doc["service"] = event.service;
    doc["correlation_id"] = event.correlation_id;
    doc["payload"] = event.payload;
    doc["timestamp"] = timestamp;
    std::string text = detail::dump_lenient(doc, 2);
    text += '\n';
    return text;
}

FileActionSink::FileActionSink(fs::path dir, FileSinkOptions options)
    : dir_(std::move(dir)), options_(options) {
    prepare_output_directory(dir_);
    remove_stale_temporaries(dir_);
}

std::string FileActionSink::write(const ActionProposal& proposal) {
    // The executor finds the file by id, so an id that needs changing is refused, not renamed.
    const std::string& id = proposal.action_id;
    if (id.empty() || detail::safe_path_component(id, 200) != id) {
        throw std::invalid_argument("action id is not a safe file name");
    }
    const std::string name = id + ".json";
    check_inside(dir_, name);
    const UniqueFd dir_fd = detail::open_directory(dir_);
    // Never over an existing file: it may hold a proposal a person already decided. Looking
    // first spares a taken id the write and fsync of a temporary; the rename has the last word.
    if (::faccessat(dir_fd.get(), name.c_str(), F_OK, AT_SYMLINK_NOFOLLOW) == 0 ||
        !detail::create_file_atomically(dir_fd.get(), name, action_file_text(proposal),
                                        options_.fsync, dir_ / name)) {
        throw ActionIdTaken(id);
    }
    return (dir_ / name).string();
}

FileEventSink::FileEventSink(fs::path dir, NodeNameSource node_name, WallTimeSource now,
                             FileSinkOptions options)
    : dir_(std::move(dir)),
      node_name_(std::move(node_name)),
      now_(std::move(now)),
      options_(options) {
    prepare_output_directory(dir_);
    remove_stale_temporaries(dir_, 2);
}

std::string FileEventSink::emit(const PlannerEvent& event) {
    const auto now = now_();
    const std::string node = node_name_();
    const std::string iso = detail::format_iso8601_utc(now);  // 2026-05-27T12:00:00.123Z
    const std::string date = iso.substr(0, 10);
    const std::string time = iso.substr(11, 2) + iso.substr(14, 2) + iso.substr(17, 6);
    const std::string node_dir = detail::safe_path_component(node);
    const std::string name = time + "-" + detail::safe_path_component(event.type) + "-" +
                             detail::safe_path_component(event.correlation_id, 128) + ".json";
    const fs::path relative = fs::path(date) / node_dir / name;
    check_inside(dir_, relative);

    const UniqueFd root = detail::open_directory(dir_);
    const UniqueFd day = open_subdirectory(root.get(), date, options_.fsync);
    const UniqueFd node_fd = open_subdirectory(day.get(), node_dir, options_.fsync);
    detail::write_file_atomically(node_fd.get(), name, event_file_text(event, node, iso),
                                  options_.fsync, dir_ / relative);
    return (dir_ / relative).string();
}

}  // namespace planner
