#pragma once

/// \file
/// A router whose chain can be replaced while the planner runs (a configuration reload).

#include <memory>
#include <mutex>
#include <stdexcept>
#include <utility>

#include "planner/router.hpp"

namespace planner {

/// Forwards each request to the current router. swap() takes effect for the next request;
/// a request already running finishes on the router it started with, which stays alive until
/// the last such request returns. Thread-safe.
class SwappableRouter final : public LLMRouter {
  public:
    explicit SwappableRouter(std::shared_ptr<LLMRouter> initial) : current_(checked(initial)) {}

    using LLMRouter::route;
    RouteResult route(const RouteRequest& request) override { return current()->route(request); }

    /// Replaces the router for the requests that start from now on. Throws
    /// std::invalid_argument for a null router, leaving the current one in place.
    void swap(std::shared_ptr<LLMRouter> next) {
        checked(next);
        std::lock_guard lock(mutex_);
        current_.swap(next);
        // `next` (the old router) is released here unless a request still holds it.
    }

    std::shared_ptr<LLMRouter> current() const {
        std::lock_guard lock(mutex_);
        return current_;
    }

  private:
    static std::shared_ptr<LLMRouter>& checked(std::shared_ptr<LLMRouter>& r) {
        if (!r) throw std::invalid_argument("SwappableRouter: null router");
        return r;
    }

    mutable std::mutex mutex_;
    std::shared_ptr<LLMRouter> current_;
};

}  // namespace planner
