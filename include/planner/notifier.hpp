#pragma once

/// \file
/// Tells people about proposals: ntfy, Gotify, a signed JSON webhook, or a Slack-compatible
/// incoming webhook. Delivery never blocks planning: one bounded queue and one thread, a
/// timeout per try, a few tries with backoff, then one `notify_failed` line. URLs and tokens
/// are secrets (a Slack webhook URL is a credential): nothing here logs them.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "planner/http_transport.hpp"
#include "planner/log.hpp"
#include "planner/proposal.hpp"
#include "planner/sinks.hpp"

namespace planner {

enum class NotifyFormat {
    ntfy,     ///< POST the text to the topic URL; Title, Priority, Tags headers
    gotify,   ///< POST {title, message, priority} to <url>/message with X-Gotify-Key
    webhook,  ///< POST {event, proposal, link?} as JSON, optionally HMAC-signed
    slack,    ///< POST {"text": …}; also Discord's and Mattermost's Slack-compatible endpoints
};

/// Which proposals a target hears about.
enum class NotifyWhen { requires_human, always };

struct NotifyTarget {
    NotifyFormat format = NotifyFormat::webhook;
    /// ntfy: the topic URL; gotify: the server's base URL; webhook, slack: the endpoint. Secret.
    std::string url;
    NotifyWhen when = NotifyWhen::requires_human;
    /// ntfy: access token (sent as Bearer), gotify: the application token. Secret; read from a
    /// file by the configuration, never from the command line.
    std::string token;
    /// webhook: HMAC-SHA256 key; when set the body is signed as `X-Planner-Signature:
    /// sha256=<hex>`. Secret.
    std::string secret;
    /// webhook: extra headers (e.g. an API key of the receiver). Values are secrets.
    std::vector<HttpHeader> headers;
    /// ntfy 1..5, gotify 0..10; zero picks 4 (ntfy) / 8 (gotify) for proposals that need a
    /// human and 3 / 5 otherwise.
    int priority = 0;
    /// ntfy: tags added to the built-in ones (robot, the risk level, the action).
    std::vector<std::string> tags;
    /// How logs name this target instead of its URL; default `<format>#<index>`.
    std::string name;
};

struct NotifierOptions {
    std::vector<NotifyTarget> targets;
    /// Deliveries waiting; beyond it new ones are dropped and counted.
    std::size_t queue_capacity = 256;
    std::chrono::milliseconds timeout{std::chrono::seconds{10}};  ///< per try
    int max_tries = 3;
    /// Before the second try; doubled before each further one.
    std::chrono::milliseconds backoff{std::chrono::seconds{2}};
    /// When set (the HTTP listener's URL), webhooks carry `link` = link_base + action_id.
    std::string link_base;
    /// How the thread waits between tries; tests inject one that does not sleep.
    std::function<void(std::chrono::milliseconds)> sleep;
};

/// One target's deliveries; the fields mean what NotifierCounters' do.
struct NotifyTargetCounters {
    std::uint64_t sent = 0;
    std::uint64_t failed = 0;
    std::uint64_t retries = 0;
    std::uint64_t dropped = 0;
};

struct NotifierCounters {
    std::uint64_t sent = 0;
    std::uint64_t failed = 0;  ///< gave up after max_tries
    std::uint64_t retries = 0;
    std::uint64_t dropped = 0;  ///< the queue was full
    /// By target name (NotifyTarget::name, never its URL), every target from the start, so a
    /// metric per target exists before its first delivery. Targets sharing a name add up.
    std::map<std::string, NotifyTargetCounters> targets;
};

/// HMAC-SHA256 of `message` under `key`, lower-case hex (OpenSSL's libcrypto; throws
/// std::runtime_error with one line if it fails).
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

/// Delivers proposals to the targets on its own thread.
class Notifier {
  public:
    /// The transport and log must outlive the notifier.
    Notifier(NotifierOptions options, std::shared_ptr<HttpTransport> transport, LogSink& log);
    /// Stops: what is queued is delivered first (each delivery is bounded by its tries).
    ~Notifier();
    Notifier(const Notifier&) = delete;
    Notifier& operator=(const Notifier&) = delete;

    void start();
    void stop();

    /// Queues one delivery per matching target; never blocks, never throws. Returns how many
    /// were queued.
    std::size_t notify(const ActionProposal& proposal);

    /// True once nothing is queued or being delivered, within `timeout`.
    bool wait_idle(std::chrono::milliseconds timeout);
    NotifierCounters counters() const;

    /// The request a target gets for a proposal (exposed for tests and docs).
    HttpRequest build_request(const NotifyTarget& target, const ActionProposal& proposal) const;

  private:
    struct Delivery {
        std::size_t target;
        HttpRequest request;
    };
    void run();
    void deliver(const Delivery& d);

    NotifierOptions options_;
    std::shared_ptr<HttpTransport> transport_;
    LogSink& log_;
    mutable std::mutex mutex_;
    std::condition_variable ready_;
    std::condition_variable idle_;
    std::deque<Delivery> queue_;
    bool busy_ = false;
    bool stopping_ = false;
    NotifierCounters counters_;  ///< totals; `targets` is built from per_target_ when read
    std::vector<NotifyTargetCounters> per_target_;  ///< by index into options_.targets
    std::thread thread_;
};

/// An ActionSink that writes through `inner`, then hands the proposal to the notifier: people
/// hear only about proposals that were stored.
class NotifyingActionSink final : public ActionSink {
  public:
    NotifyingActionSink(ActionSink& inner, Notifier& notifier)
        : inner_(inner), notifier_(notifier) {}
    std::string write(const ActionProposal& proposal) override {
        std::string where = inner_.write(proposal);
        notifier_.notify(proposal);
        return where;
    }
    void escalated(const ActionProposal& proposal) override {
        inner_.escalated(proposal);
        notifier_.notify(proposal);
    }

  private:
    ActionSink& inner_;
    Notifier& notifier_;
};

}  // namespace planner
