#pragma once

/// A loopback Ollama for the benchmarks that run the real planner-run (bench_storm,
/// bench_memory): cpp-httplib in the benchmark's own process.

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace bench {

/// An Ollama /api/chat that answers `restart` for the event's own node and service after a
/// fixed delay, and counts requests per service-name prefix (one prefix per storm).
class FakeOllama {
  public:
    explicit FakeOllama(std::chrono::milliseconds delay) : delay_(delay) {
        server_.Post("/api/chat", [this](const httplib::Request& req, httplib::Response& res) {
            answer(req, res);
        });
        port_ = server_.bind_to_any_port("127.0.0.1");
        thread_ = std::thread([this] { server_.listen_after_bind(); });
    }
    ~FakeOllama() {
        server_.stop();
        thread_.join();
    }
    FakeOllama(const FakeOllama&) = delete;
    FakeOllama& operator=(const FakeOllama&) = delete;

    int port() const noexcept { return port_; }
    long requests(const std::string& prefix) const {
        std::lock_guard lock(mutex_);
        const auto it = by_prefix_.find(prefix);
        return it == by_prefix_.end() ? 0 : it->second;
    }
    int max_concurrent() const noexcept { return max_concurrent_.load(); }
    /// What the model calls cost on the wire: request and answer body bytes, summed.
    long request_bytes() const noexcept { return request_bytes_.load(); }
    long answer_bytes() const noexcept { return answer_bytes_.load(); }
    long calls() const noexcept { return calls_.load(); }
    /// Calls whose body asked Ollama to keep the model loaded (`keep_alive`).
    long calls_with_keep_alive() const noexcept { return keep_alive_calls_.load(); }

  private:
    void answer(const httplib::Request& req, httplib::Response& res) {
        const int now = ++concurrent_;
        int seen = max_concurrent_.load();
        while (now > seen && !max_concurrent_.compare_exchange_weak(seen, now)) {
        }
        const auto body = nlohmann::json::parse(req.body);
        ++calls_;
        request_bytes_ += static_cast<long>(req.body.size());
        if (body.contains("keep_alive")) ++keep_alive_calls_;
        const std::string prompt = body.at("messages").back().at("content");
        const auto event = nlohmann::json::parse(prompt.substr(
            prompt.find("<event>") + 7, prompt.find("</event>") - prompt.find("<event>") - 7));
        const std::string service = event.at("service");
        {
            std::lock_guard lock(mutex_);
            ++by_prefix_[service.substr(0, service.find('-') + 1)];
        }
        std::this_thread::sleep_for(delay_);
        const nlohmann::json proposal = {
            {"action", "restart"},      {"service", service},
            {"node", event.at("node")}, {"reason", "container unhealthy after a node reboot"},
            {"confidence", 0.9},        {"requires_human", false}};
        const nlohmann::json reply = {
            {"model", body.value("model", "bench")},
            {"message", {{"role", "assistant"}, {"content", proposal.dump()}}},
            {"done", true}};
        const std::string reply_text = reply.dump();
        answer_bytes_ += static_cast<long>(reply_text.size());
        res.set_content(reply_text, "application/json");
        --concurrent_;
    }

    std::chrono::milliseconds delay_;
    httplib::Server server_;
    int port_ = 0;
    std::thread thread_;
    mutable std::mutex mutex_;
    std::map<std::string, long> by_prefix_;
    std::atomic<int> concurrent_{0};
    std::atomic<int> max_concurrent_{0};
    std::atomic<long> request_bytes_{0}, answer_bytes_{0}, calls_{0}, keep_alive_calls_{0};
};

}  // namespace bench
