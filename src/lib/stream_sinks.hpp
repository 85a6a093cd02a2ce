#pragma once

/// \file
/// Sinks that write nothing to disk: proposals as JSON lines on a stream (dry runs, pipes) and an
/// event sink that drops everything.

#include <cstdio>
#include <mutex>
#include <string>

#include "planner/sinks.hpp"

namespace planner {

/// Each proposal's action file as one JSON line on `out`, flushed at once.
class StreamActionSink final : public ActionSink {
  public:
    explicit StreamActionSink(std::FILE* out) : out_(out) {}
    /// Returns "stdout"; throws std::runtime_error when the stream refuses the line.
    std::string write(const ActionProposal& proposal) override;

  private:
    std::FILE* out_;
    std::mutex mutex_;
};

/// Accepts every event and keeps none.
class NullEventSink final : public EventSink {
  public:
    std::string emit(const PlannerEvent&) override { return "discarded"; }
};

}  // namespace planner
