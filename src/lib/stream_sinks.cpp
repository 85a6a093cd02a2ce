#include "stream_sinks.hpp"

#include <stdexcept>

#include "planner/detail/json_limits.hpp"

namespace planner {

std::string StreamActionSink::write(const ActionProposal& proposal) {
    const std::string line = detail::dump_lenient(proposal.to_action_file()) + "\n";
    std::lock_guard lock(mutex_);
    if (std::fwrite(line.data(), 1, line.size(), out_) != line.size() || std::fflush(out_) != 0) {
        throw std::runtime_error("cannot write the proposal to its stream");
    }
    return "stdout";
}

}  // namespace planner
