#include "planner/redis_silences.hpp"

#include <algorithm>
#include <map>

#include "planner/detail/json_limits.hpp"
#include "redis_connection.hpp"

namespace planner {

namespace {

/// Keys read per MGET: a homelab has a handful of silences, SilenceStore allows 1000.
constexpr std::size_t kBatch = 200;

std::int64_t epoch_ms(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

/// Per id, the copy that ends earlier; oldest first.
std::vector<Silence> merge(const std::vector<Silence>& a, const std::vector<Silence>& b) {
    std::map<std::string, Silence> by_id;
    for (const auto* side : {&a, &b}) {
        for (const auto& s : *side) {
            const auto [it, inserted] = by_id.emplace(s.id, s);
            if (!inserted && s.ends_at < it->second.ends_at) it->second = s;
        }
    }
    std::vector<Silence> out;
    out.reserve(by_id.size());
    for (auto& [id, s] : by_id) out.push_back(std::move(s));
    std::sort(out.begin(), out.end(), [](const Silence& x, const Silence& y) {
        return x.created_at != y.created_at ? x.created_at < y.created_at : x.id < y.id;
    });
    return out;
}

const Silence* find_by_id(const std::vector<Silence>& all, const std::string& id) {
    const auto it =
        std::find_if(all.begin(), all.end(), [&](const Silence& s) { return s.id == id; });
    return it == all.end() ? nullptr : &*it;
}

}  // namespace

struct RedisSilences::Connection {
    Connection(const RedisUrl& url, std::chrono::milliseconds timeout) : client(url, timeout) {}
    detail::RetryingClient client;
};

RedisSilences::RedisSilences(SilenceStore& file, RedisSilencesOptions options, WallTimeSource wall)
    : file_(file),
      options_(std::move(options)),
      wall_(std::move(wall)),
      connection_(std::make_unique<Connection>(options_.url, options_.timeout)) {}

RedisSilences::~RedisSilences() {
    stop();
}

void RedisSilences::start() {
    sync();
    std::lock_guard guard(thread_mutex_);
    if (thread_.joinable() || stopping_) return;
    thread_ = std::thread([this] {
        std::unique_lock lock(thread_mutex_);
        while (!wake_.wait_for(lock, options_.interval, [this] { return stopping_; })) {
            lock.unlock();
            sync();
            lock.lock();
        }
    });
}

void RedisSilences::stop() {
    {
        std::lock_guard lock(thread_mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

std::vector<Silence> RedisSilences::fetch() {
    auto& client = connection_->client;
    std::vector<std::string> keys;
    std::string cursor = "0";
    do {
        const auto reply = client.command(
            {"SCAN", cursor, "MATCH", options_.prefix + "*", "COUNT", "1000"}, "SCAN (silences)");
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
            throw std::runtime_error("SCAN (silences): unexpected reply");
        }
        cursor = std::string(detail::reply_text(reply->element[0]));
        const auto* batch = reply->element[1];
        for (std::size_t i = 0; i < batch->elements; ++i) {
            keys.emplace_back(detail::reply_text(batch->element[i]));
        }
    } while (cursor != "0");
    std::vector<Silence> out;
    for (std::size_t from = 0; from < keys.size(); from += kBatch) {
        std::vector<std::string> args{"MGET"};
        const std::size_t to = std::min(keys.size(), from + kBatch);
        args.insert(args.end(), keys.begin() + static_cast<std::ptrdiff_t>(from),
                    keys.begin() + static_cast<std::ptrdiff_t>(to));
        const auto reply = client.command(args, "MGET (silences)");
        for (std::size_t i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements; ++i) {
            // A key that expired between SCAN and MGET is nil; anything not a silence whose id
            // names its key (written by someone else) is skipped.
            const auto text = detail::reply_text(reply->element[i]);
            if (reply->element[i]->type != REDIS_REPLY_STRING) continue;
            auto s = silence_from_json(nlohmann::json::parse(text, nullptr, false));
            if (s && options_.prefix + s->id == keys[from + i]) out.push_back(std::move(*s));
        }
    }
    return out;
}

void RedisSilences::put(const Silence& s, std::chrono::system_clock::time_point now) {
    // A running silence leaves Redis at its end; one ended early stays keep_expired longer, so
    // a copy that still has it running learns of the expiry instead of bringing it back.
    const auto until = s.expired_by.empty() ? s.ends_at : s.ends_at + options_.keep_expired;
    if (until <= now) return;
    connection_->client.command({"SET", options_.prefix + s.id, detail::dump_lenient(to_json(s)),
                                 "PXAT", std::to_string(epoch_ms(until))},
                                "SET PXAT (silence)");
}

void RedisSilences::report(std::string_view event, const std::string& error) {
    std::lock_guard lock(view_mutex_);
    if (error == last_error_) return;
    last_error_ = error;
    if (!error.empty() && options_.log != nullptr) {
        options_.log->log(LogLevel::warn, event,
                          {{"error", error}, {"kept_silences", view_.size()}});
    }
}

bool RedisSilences::sync() {
    std::lock_guard guard(sync_mutex_);
    std::string error;
    bool file_ok = true;
    bool redis_ok = true;
    try {
        file_seen_ = file_.list();
    } catch (const std::exception& e) {
        // A file that is not silences (hand-edited badly): what was read from it before stays
        // in force, and it is not written until a person fixes it.
        file_ok = false;
        error = file_.path().string() + ": " + e.what();
    }
    try {
        redis_seen_ = fetch();
    } catch (const std::exception& e) {
        redis_ok = false;
        if (error.empty()) error = e.what();  // names the URL redacted, never a password
    }
    auto merged = merge(file_seen_, redis_seen_);
    if (file_ok && redis_ok) {
        try {
            if (file_.absorb(redis_seen_) > 0) file_seen_ = file_.list();
        } catch (const std::exception& e) {
            error = e.what();
        }
    }
    if (redis_ok) {
        try {
            const auto now = wall_();
            for (const auto& s : merged) {
                const Silence* there = find_by_id(redis_seen_, s.id);
                if (there == nullptr || s.ends_at < there->ends_at) put(s, now);
            }
        } catch (const std::exception& e) {
            redis_ok = false;
            error = e.what();
        }
    }
    {
        std::lock_guard lock(view_mutex_);
        view_ = std::move(merged);
    }
    // The same event name as SilenceStore's for a bad file, so one alert rule covers both.
    report(file_ok ? "silences_sync_failed" : "silences_unreadable", error);
    return error.empty();
}

std::vector<Silence> RedisSilences::list() const {
    std::lock_guard lock(view_mutex_);
    return view_;
}

std::string RedisSilences::last_error() const {
    std::lock_guard lock(view_mutex_);
    return last_error_;
}

std::optional<std::string> RedisSilences::active_match(std::string_view key,
                                                       std::chrono::system_clock::time_point now) {
    std::lock_guard lock(view_mutex_);
    for (const auto& s : view_) {
        if (s.silences(key, now)) return s.id;
    }
    return std::nullopt;
}

}  // namespace planner
