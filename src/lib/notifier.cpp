#include "planner/notifier.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <memory>
#include <stdexcept>

#include "planner/detail/json_limits.hpp"

namespace planner {

namespace {

std::string_view format_name(NotifyFormat f) noexcept {
    switch (f) {
        case NotifyFormat::ntfy:
            return "ntfy";
        case NotifyFormat::gotify:
            return "gotify";
        case NotifyFormat::webhook:
            return "webhook";
        case NotifyFormat::slack:
            return "slack";
    }
    return "webhook";
}

/// Header values come from events: no CR or LF may reach the wire (header injection), and
/// ntfy reads them as ASCII.
std::string header_value(std::string_view s) {
    std::string out;
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        out += (u < 0x20 || u >= 0x7f) ? ' ' : c;
    }
    return out.substr(0, 250);
}

std::string title_of(const ActionProposal& p) {
    return (p.escalated        ? "Escalated: "
            : p.requires_human ? "Approve: "
                               : "Planned: ") +
           p.action + " " + p.service + " on " + p.node;
}

std::string text_of(const ActionProposal& p) {
    std::string text = p.to_action_file().value("description", p.reason);
    text += "\nrisk " + p.risk_level + ", confidence " + std::to_string(p.confidence).substr(0, 4) +
            ", model " + p.llm_model + "\nid " + p.action_id;
    if (p.requires_human) text += "\nplanner-ctl approve " + p.action_id + " --by NAME";
    return text;
}

std::string dump(const nlohmann::json& j) {
    return detail::dump_lenient(j);
}

std::string trim_slash(std::string url) {
    while (!url.empty() && url.back() == '/') url.pop_back();
    return url;
}

bool worth_retrying(const HttpResponse& r) {
    if (r.failure == HttpFailure::too_large) return false;
    if (r.failure != HttpFailure::none) return true;
    return r.status >= 500 || r.status == 408 || r.status == 429;
}

std::string outcome(const HttpResponse& r) {
    switch (r.failure) {
        case HttpFailure::none:
            return "HTTP " + std::to_string(r.status);
        case HttpFailure::timeout:
            return "timeout";
        case HttpFailure::too_large:
            return "response too large";
        case HttpFailure::transport:
            break;
    }
    // Not r.error: a transport's message may name the host, and for some receivers the URL is
    // the credential.
    return "transport error";
}

}  // namespace

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest,
             &len) == nullptr) {
        throw std::runtime_error("HMAC-SHA256 failed");
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < len; ++i) {
        out += kHex[digest[i] >> 4];
        out += kHex[digest[i] & 0xf];
    }
    return out;
}

Notifier::Notifier(NotifierOptions options, std::shared_ptr<HttpTransport> transport, LogSink& log)
    : options_(std::move(options)), transport_(std::move(transport)), log_(log) {
    if (!options_.sleep) {
        options_.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
    }
    options_.max_tries = std::max(options_.max_tries, 1);
    for (std::size_t i = 0; i < options_.targets.size(); ++i) {
        auto& t = options_.targets[i];
        if (t.name.empty())
            t.name = std::string(format_name(t.format)) + "#" + std::to_string(i + 1);
    }
    per_target_.resize(options_.targets.size());
}

Notifier::~Notifier() {
    stop();
}

void Notifier::start() {
    std::lock_guard lock(mutex_);
    if (thread_.joinable() || stopping_) return;
    thread_ = std::thread([this] { run(); });
}

void Notifier::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    ready_.notify_all();
    if (thread_.joinable()) thread_.join();
}

HttpRequest Notifier::build_request(const NotifyTarget& t, const ActionProposal& p) const {
    HttpRequest r;
    r.timeout = options_.timeout;
    switch (t.format) {
        case NotifyFormat::ntfy: {
            r.url = t.url;
            r.body = text_of(p);
            // An escalation is the one thing that must wake someone: the highest, whatever
            // the target's configured priority.
            const int priority = p.escalated        ? 5
                                 : t.priority > 0   ? t.priority
                                 : p.requires_human ? 4
                                                    : 3;
            std::string tags = "robot," + p.risk_level + "," + p.action;
            if (p.escalated) tags += ",rotating_light";
            for (const auto& tag : t.tags) tags += "," + tag;
            r.headers = {{"Content-Type", "text/plain; charset=utf-8"},
                         {"Title", header_value(title_of(p))},
                         {"Priority", std::to_string(priority)},
                         {"Tags", header_value(tags)}};
            if (!t.token.empty()) r.headers.emplace_back("Authorization", "Bearer " + t.token);
            break;
        }
        case NotifyFormat::gotify: {
            r.url = trim_slash(t.url) + "/message";
            const int priority = p.escalated        ? 10
                                 : t.priority > 0   ? t.priority
                                 : p.requires_human ? 8
                                                    : 5;
            r.body =
                dump({{"title", title_of(p)}, {"message", text_of(p)}, {"priority", priority}});
            r.headers = {{"Content-Type", "application/json"}, {"X-Gotify-Key", t.token}};
            break;
        }
        case NotifyFormat::webhook: {
            r.url = t.url;
            nlohmann::json doc = {{"event", "remediation_proposed"},
                                  {"proposal", p.to_action_file()}};
            if (!options_.link_base.empty()) doc["link"] = options_.link_base + p.action_id;
            if (p.escalated) doc["priority"] = "high";
            r.body = dump(doc);
            r.headers = {{"Content-Type", "application/json"}};
            for (const auto& [name, value] : t.headers) {
                r.headers.emplace_back(header_value(name), header_value(value));
            }
            if (!t.secret.empty()) {
                r.headers.emplace_back("X-Planner-Signature",
                                       "sha256=" + hmac_sha256_hex(t.secret, r.body));
            }
            break;
        }
        case NotifyFormat::slack:
            r.url = t.url;
            r.body = dump({{"text", "*" + title_of(p) + "*\n" + text_of(p)}});
            r.headers = {{"Content-Type", "application/json"}};
            break;
    }
    return r;
}

std::size_t Notifier::notify(const ActionProposal& proposal) {
    std::size_t queued = 0;
    std::size_t dropped = 0;
    try {
        std::vector<Delivery> batch;
        for (std::size_t i = 0; i < options_.targets.size(); ++i) {
            const auto& t = options_.targets[i];
            if (t.when == NotifyWhen::requires_human && !proposal.requires_human) continue;
            batch.push_back({i, build_request(t, proposal)});
        }
        {
            std::lock_guard lock(mutex_);
            for (auto& d : batch) {
                if (queue_.size() >= options_.queue_capacity || stopping_) {
                    ++dropped;
                    ++per_target_[d.target].dropped;
                    continue;
                }
                queue_.push_back(std::move(d));
                ++queued;
            }
            counters_.dropped += dropped;
        }
    } catch (const std::exception& e) {
        log_.log(LogLevel::error, "notify_failed",
                 {{"action_id", proposal.action_id}, {"error", e.what()}});
    }
    if (queued > 0) ready_.notify_one();
    if (dropped > 0) {
        log_.log(LogLevel::warn, "notify_dropped",
                 {{"action_id", proposal.action_id},
                  {"dropped", dropped},
                  {"capacity", options_.queue_capacity}});
    }
    return queued;
}

void Notifier::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        ready_.wait(lock, [this] { return !queue_.empty() || stopping_; });
        if (queue_.empty()) return;
        Delivery d = std::move(queue_.front());
        queue_.pop_front();
        busy_ = true;
        lock.unlock();
        deliver(d);
        lock.lock();
        busy_ = false;
        if (queue_.empty()) idle_.notify_all();
    }
}

void Notifier::deliver(const Delivery& d) {
    const auto& target = options_.targets[d.target];
    auto backoff = options_.backoff;
    HttpResponse last;
    int tries = 0;
    for (;;) {
        ++tries;
        last = transport_->post(d.request);
        if (last.failure == HttpFailure::none && last.status >= 200 && last.status < 300) {
            std::lock_guard lock(mutex_);
            ++counters_.sent;
            ++per_target_[d.target].sent;
            return;
        }
        if (tries >= options_.max_tries || !worth_retrying(last)) break;
        {
            std::lock_guard lock(mutex_);
            ++counters_.retries;
            ++per_target_[d.target].retries;
        }
        options_.sleep(backoff);
        backoff *= 2;
    }
    {
        std::lock_guard lock(mutex_);
        ++counters_.failed;
        ++per_target_[d.target].failed;
    }
    log_.log(LogLevel::warn, "notify_failed",
             {{"target", target.name},
              {"format", format_name(target.format)},
              {"tries", tries},
              {"error", outcome(last)}});
}

bool Notifier::wait_idle(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return idle_.wait_for(lock, timeout, [this] { return queue_.empty() && !busy_; });
}

NotifierCounters Notifier::counters() const {
    std::lock_guard lock(mutex_);
    NotifierCounters out = counters_;
    for (std::size_t i = 0; i < per_target_.size(); ++i) {
        auto& t = out.targets[options_.targets[i].name];
        t.sent += per_target_[i].sent;
        t.failed += per_target_[i].failed;
        t.retries += per_target_[i].retries;
        t.dropped += per_target_[i].dropped;
    }
    return out;
}

}  // namespace planner
