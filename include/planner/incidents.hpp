#pragma once

/// \file
/// Open incidents and the dependency graph, for dependency-aware suppression (inhibition):
/// while something a service needs is failing, the service's own alarms are symptoms, and a
/// proposal to restart it would be noise beside the one that fixes the cause. Header-only,
/// part of planner::core; the caller passes the time, so tests and replays own the clock.

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "planner/proposal.hpp"
#include "planner/topology.hpp"

namespace planner {

/// Event types that say a whole node is down: every service on it is a symptom.
inline bool is_node_down_event_type(std::string_view type) noexcept {
    return type == "node_offline" || type == "node_unreachable";
}

/// Remembers the last actionable event per node/service and per node for `window`, and answers
/// whether a service's dependencies (transitively, the configuration refuses cycles) or its
/// node have an open incident. Only keys the topology can make a root are remembered, so a bus
/// full of unknown names costs no memory. Thread-safe. A zero window disables it.
class IncidentTracker {
  public:
    using time_point = std::chrono::steady_clock::time_point;

    IncidentTracker() = default;
    IncidentTracker(const Topology& topology, std::chrono::milliseconds window) {
        reconfigure(topology, window);
    }

    /// A configuration reload: the graph and the window change, what is open stays open.
    void reconfigure(const Topology& topology, std::chrono::milliseconds window) {
        std::lock_guard lock(mutex_);
        window_ = window;
        deps_.clear();
        roots_.clear();
        nodes_.clear();
        for (const auto& node : topology.nodes) {
            if (!node.services.empty()) nodes_.insert(node.name);
            for (const auto& s : node.services) {
                auto& d = deps_[service_key(node.name, s.name)];
                for (const auto& entry : s.depends_on) {
                    d.push_back(resolve_dependency(node.name, entry));
                    roots_.insert(d.back());
                }
            }
        }
    }

    /// An actionable event for `key` (node/service) at `now`; `node_down` for a node-level one.
    void record(std::string_view key, bool node_down, time_point now) {
        std::lock_guard lock(mutex_);
        if (window_.count() <= 0) return;
        const std::string k(key);
        const std::string node = k.substr(0, k.find('/'));
        // A new incident of `k` (the last one closed): its symptoms start afresh.
        if (!open_locked(k, node, now)) symptoms_.erase(k);
        if (roots_.contains(k)) open_[k] = now;
        if (node_down && nodes_.contains(node)) node_open_[node] = {k, now};
    }

    /// `symptom` was inhibited by the open incident of `root` (what open_root_for answered):
    /// remembered for the root's proposal, at most ActionProposal::kMaxAffected per root. True
    /// when it is new for this incident (so a pending proposal should list it).
    bool note_symptom(std::string_view root, std::string_view symptom) {
        std::lock_guard lock(mutex_);
        auto& list = symptoms_[std::string(root)];
        if (list.size() >= ActionProposal::kMaxAffected ||
            std::find(list.begin(), list.end(), symptom) != list.end()) {
            return false;
        }
        list.emplace_back(symptom);
        return true;
    }

    /// The symptoms inhibited by the current incident of `root`, in the order they came.
    std::vector<std::string> symptoms_of(std::string_view root) const {
        std::lock_guard lock(mutex_);
        const auto it = symptoms_.find(root);
        return it == symptoms_.end() ? std::vector<std::string>{} : it->second;
    }

    /// The key of an open incident that `key` depends on (itself excluded): one of its
    /// dependencies, theirs, and so on, or a node-level event for the node of any of them.
    std::optional<std::string> open_root_for(std::string_view key, time_point now) const {
        std::lock_guard lock(mutex_);
        if (window_.count() <= 0) return std::nullopt;
        const std::string self(key);
        for (const auto& k : closure_locked(self)) {
            if (k != self) {
                if (auto it = open_.find(k); it != open_.end() && now - it->second < window_)
                    return k;
            }
            const auto n = node_open_.find(k.substr(0, k.find('/')));
            if (n != node_open_.end() && n->second.first != self &&
                now - n->second.second < window_)
                return n->second.first;
        }
        return std::nullopt;
    }

    /// Everything `key` depends on, transitively, without itself (for a pending-proposal check).
    std::vector<std::string> dependencies_of(std::string_view key) const {
        std::lock_guard lock(mutex_);
        if (window_.count() <= 0) return {};
        auto all = closure_locked(std::string(key));
        all.erase(all.begin());
        return all;
    }

  private:
    /// True while `k` has an open incident of its own (as a root, or as a node-level event).
    bool open_locked(const std::string& k, const std::string& node, time_point now) const {
        if (const auto it = open_.find(k); it != open_.end() && now - it->second < window_)
            return true;
        const auto n = node_open_.find(node);
        return n != node_open_.end() && n->second.first == k && now - n->second.second < window_;
    }

    /// `key` first, then its dependencies breadth-first, each once.
    std::vector<std::string> closure_locked(const std::string& key) const {
        std::vector<std::string> out{key};
        std::set<std::string> seen{key};
        for (std::size_t i = 0; i < out.size(); ++i) {
            const auto it = deps_.find(out[i]);
            if (it == deps_.end()) continue;
            for (const auto& d : it->second) {
                if (seen.insert(d).second) out.push_back(d);
            }
        }
        return out;
    }

    mutable std::mutex mutex_;
    std::chrono::milliseconds window_{0};
    std::map<std::string, std::vector<std::string>> deps_;  ///< key → direct dependencies
    std::set<std::string> roots_;                           ///< keys something depends on
    std::set<std::string> nodes_;                           ///< nodes with services
    std::map<std::string, time_point> open_;
    std::map<std::string, std::pair<std::string, time_point>> node_open_;  ///< node → root key
    /// root key → its symptoms; only keys open_root_for answered, so bounded by the topology.
    std::map<std::string, std::vector<std::string>, std::less<>> symptoms_;
};

}  // namespace planner
