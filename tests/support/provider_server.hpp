#pragma once

/// An in-process model server on loopback, scripted per test: each call takes the next scripted
/// reply, and every request is recorded for assertions.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace planner::testing {

/// What the server answers to one call.
struct ScriptedReply {
    int status = 200;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    bool hang = false;  ///< accept the request and answer nothing until the server is released
};

/// One request as the server received it.
struct RecordedRequest {
    std::string path;
    std::string body;
    httplib::Headers headers;  ///< names compare case-insensitively

    nlohmann::json json() const { return nlohmann::json::parse(body); }
    bool has_header(const std::string& name) const { return headers.count(name) > 0; }
    std::string header(const std::string& name) const {
        const auto it = headers.find(name);
        return it == headers.end() ? std::string() : it->second;
    }
};

/// Answers every call past the script, like a model server would (see simulated_model in
/// wire_formats.hpp).
using Responder = std::function<ScriptedReply(const RecordedRequest&)>;

class ProviderServer {
  public:
    ProviderServer() {
        server_.Post(R"(.*)", [this](const httplib::Request& req, httplib::Response& res) {
            handle(req, res);
        });
        port_ = server_.bind_to_any_port("127.0.0.1");
        thread_ = std::thread([this] { server_.listen_after_bind(); });
        // stop() is a no-op until the accept loop runs, so wait for it before anything can stop.
        while (!server_.is_running()) std::this_thread::yield();
    }

    ~ProviderServer() {
        release();
        server_.stop();
        thread_.join();
    }

    ProviderServer(const ProviderServer&) = delete;
    ProviderServer& operator=(const ProviderServer&) = delete;

    /// Replies for the next calls, in order; a call past the script gets a 500 "unscripted".
    void script(std::vector<ScriptedReply> replies) {
        std::lock_guard lock(mutex_);
        replies_.assign(replies.begin(), replies.end());
    }

    /// Every call past the script is answered by `responder` instead of a 500.
    void respond_with(Responder responder) {
        std::lock_guard lock(mutex_);
        responder_ = std::move(responder);
    }

    std::vector<RecordedRequest> requests() const {
        std::lock_guard lock(mutex_);
        return requests_;
    }

    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    int port() const { return port_; }

    /// Lets hanging handlers return (their clients have long given up).
    void release() {
        {
            std::lock_guard lock(mutex_);
            released_ = true;
        }
        released_cv_.notify_all();
    }

  private:
    void handle(const httplib::Request& req, httplib::Response& res) {
        ScriptedReply reply{500, R"({"error":"unscripted call"})", {}, false};
        Responder responder;
        const RecordedRequest recorded{req.path, req.body, req.headers};
        {
            std::lock_guard lock(mutex_);
            requests_.push_back(recorded);
            if (!replies_.empty()) {
                reply = std::move(replies_.front());
                replies_.pop_front();
            } else {
                responder = responder_;
            }
        }
        if (responder) reply = responder(recorded);
        if (reply.hang) {
            std::unique_lock lock(mutex_);
            released_cv_.wait(lock, [this] { return released_; });
            res.status = 503;
            return;
        }
        res.status = reply.status;
        for (const auto& [name, value] : reply.headers) res.set_header(name.c_str(), value);
        res.set_content(reply.body, "application/json");
    }

    httplib::Server server_;
    std::thread thread_;
    int port_ = 0;
    mutable std::mutex mutex_;
    std::condition_variable released_cv_;
    bool released_ = false;
    std::deque<ScriptedReply> replies_;
    Responder responder_;
    std::vector<RecordedRequest> requests_;
};

/// A loopback port with nothing listening: bound, never listened on. Connecting is refused.
inline int closed_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    // Kept bound, never listening, until the test process ends: a connection is refused, and
    // no server of a test running beside this one can be given the port (closing it here let
    // a parallel test's server answer "HTTP 500: unscripted call" on it).
    return ntohs(addr.sin_port);
}

/// The valid proposal the scripted models answer with.
inline nlohmann::json valid_proposal() {
    return {{"action", "restart"},           {"service", "mosquitto"}, {"node", "piha"},
            {"reason", "container stopped"}, {"confidence", 0.9},      {"requires_human", false}};
}

/// `valid_proposal()` with `key` set to `value`, or erased when `value` is null.
inline nlohmann::json proposal_with(const std::string& key, const nlohmann::json& value) {
    auto p = valid_proposal();
    if (value.is_null()) {
        p.erase(key);
    } else {
        p[key] = value;
    }
    return p;
}

inline ScriptedReply hang() {
    return ScriptedReply{200, "", {}, true};
}

}  // namespace planner::testing
