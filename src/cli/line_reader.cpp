#include "line_reader.hpp"

#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace planner::cli {

void for_each_line(int fd, const StopSignal& stop, std::size_t max_line,
                   const std::function<void(std::string_view)>& on_line) {
    std::string line;
    bool overflow = false;
    char buf[65536];
    while (!stop.requested()) {
        pollfd p{fd, POLLIN, 0};
        const int ready = ::poll(&p, 1, 200);
        if (ready < 0 && errno != EINTR) break;
        if (ready <= 0) continue;
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) break;
        for (std::string_view chunk(buf, static_cast<std::size_t>(n)); !chunk.empty();) {
            const auto nl = chunk.find('\n');
            const auto part = chunk.substr(0, nl);
            if (line.size() + part.size() > max_line) {
                line.append(part.substr(0, max_line + 1 - line.size()));
                overflow = true;
            } else if (!overflow) {
                line.append(part);
            }
            if (nl == std::string_view::npos) break;
            on_line(line);
            line.clear();
            overflow = false;
            chunk.remove_prefix(nl + 1);
        }
    }
    if (!line.empty() && !stop.requested()) on_line(line);
}

}  // namespace planner::cli
