#include "planner/redis_stream_intake.hpp"

#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_set>

#include "redis_connection.hpp"

namespace planner {

using detail::ConnectionLost;
using detail::RedisContextPtr;
using detail::RedisReplyPtr;
using detail::reply_text;

/// Settlements travel from the agent's threads to the intake's through this; a settle callback
/// keeps it alive, so one that arrives after the intake is gone is harmless.
struct RedisStreamIntake::Shared {
    struct Settled {
        std::size_t stream;
        std::string id;
        bool ack;
    };
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<Settled> settled;
    /// The thread running the intake: a settle called on it comes from inside the handler (an
    /// entry skipped at once), and is answered through `inline_ack` without the lock.
    std::atomic<std::thread::id> reader{};
    int inline_ack = -1;  ///< -1: not settled inline; else 0 or 1. The reader's alone.
    std::atomic<std::uint64_t> read{0}, acked{0}, claimed{0}, dead{0}, malformed{0};
};

/// What survives a reconnect: the entries handed over and not yet settled, and the XACKs owed.
struct RedisStreamIntake::Session {
    std::vector<std::unordered_set<std::string>> outstanding;  ///< per stream
    std::size_t outstanding_count = 0;
    std::vector<std::vector<std::string>> to_ack;  ///< per stream
    std::vector<std::string> claim_cursor;         ///< XAUTOCLAIM's, per stream
    std::chrono::steady_clock::time_point next_claim{};
};

namespace {

/// The stop flag was seen while waiting for Redis.
struct Stopping {};

struct StreamEntry {
    std::string id;
    std::optional<std::string> data;
    bool deleted = false;  ///< trimmed away while pending: nothing left to deliver
};

/// `[id, [field, value, ...]]`, or `[id, nil]` for an entry deleted while pending.
std::optional<StreamEntry> parse_entry(const redisReply* e) {
    if (e == nullptr || e->type != REDIS_REPLY_ARRAY || e->elements < 2 ||
        e->element[0]->type != REDIS_REPLY_STRING) {
        return std::nullopt;
    }
    StreamEntry out;
    out.id = std::string(reply_text(e->element[0]));
    const redisReply* fields = e->element[1];
    if (fields->type != REDIS_REPLY_ARRAY) {
        out.deleted = true;
        return out;
    }
    for (std::size_t i = 0; i + 1 < fields->elements; i += 2) {
        if (reply_text(fields->element[i]) == "data" &&
            fields->element[i + 1]->type == REDIS_REPLY_STRING) {
            out.data = std::string(reply_text(fields->element[i + 1]));
            break;
        }
    }
    return out;
}

std::string consumer_name(const RedisStreamIntakeOptions& o) {
    return o.consumer.empty() ? "planner-" + std::to_string(::getpid()) : o.consumer;
}

/// One connection's work: acknowledge, claim, read. Throws ConnectionLost or Stopping.
class Pump {
  public:
    Pump(redisContext* c, const RedisStreamIntakeOptions& o, std::string consumer,
         RedisStreamIntake::Shared& shared, RedisStreamIntake::Session& session,
         const RedisStreamIntake::EntryHandler& on_entry,
         const std::shared_ptr<RedisStreamIntake::Shared>& keep, LogSink& log,
         const std::atomic<bool>& stop)
        : c_(c),
          o_(o),
          consumer_(std::move(consumer)),
          shared_(shared),
          s_(session),
          on_entry_(on_entry),
          keep_(keep),
          log_(log),
          stop_(stop) {}

    /// The groups, created when missing; an existing one (BUSYGROUP) is fine.
    void create_groups() {
        for (const auto& stream : o_.streams) {
            auto r = call({"XGROUP", "CREATE", stream, o_.group, "$", "MKSTREAM"}, "XGROUP CREATE");
            if (r->type == REDIS_REPLY_ERROR && !reply_text(r.get()).starts_with("BUSYGROUP")) {
                throw ConnectionLost("XGROUP CREATE " + stream + ": " +
                                     std::string(reply_text(r.get())));
            }
        }
    }

    /// One round trip per batch while nothing is due: the XACKs of what was settled since the
    /// last read go out in the read's round trip, ahead of it, so Redis processes them before
    /// it blocks. (A separate XACK round trip per batch made two.)
    void step() {
        take_settled();
        // A read sent ahead answers before anything sent after it: the claim round waits for it.
        if (ahead_.empty()) {
            claim();
            take_settled();
        }
        read_new();
    }

    /// A read was sent ahead and its entries are not handed over yet. run() finishes it when
    /// stopping, so they reach the agent instead of waiting claim_idle for another consumer.
    bool reading_ahead() const noexcept { return !ahead_.empty(); }

    /// Moves what the agent settled into the acknowledgements owed.
    void take_settled() {
        std::vector<RedisStreamIntake::Shared::Settled> settled;
        {
            std::lock_guard lock(shared_.mutex);
            settled.swap(shared_.settled);
        }
        for (auto& x : settled) {
            if (s_.outstanding[x.stream].erase(x.id) > 0) --s_.outstanding_count;
            // Not acknowledged: it stays pending, is claimed after claim_idle and delivered
            // again, until max_deliveries sends it to the dead letters.
            if (x.ack) s_.to_ack[x.stream].push_back(std::move(x.id));
        }
    }

    void send_acks() { finish_acks(append_acks()); }

  private:
    /// A read on the wire: how many ids each XACK sent with it carries, its COUNT, and whether
    /// it blocks (only then may a stop request cut the wait for its reply short).
    struct Read {
        std::vector<std::pair<std::size_t, std::size_t>> acks;
        std::size_t count = 0;
        bool blocking = true;
    };

    /// Queues an XACK per stream for what is owed and not already on the wire; returns how
    /// many ids each one carries.
    std::vector<std::pair<std::size_t, std::size_t>> append_acks() {
        std::vector<std::pair<std::size_t, std::size_t>> sent;
        for (std::size_t s = 0; s < o_.streams.size(); ++s) {
            const auto& ids = s_.to_ack[s];
            const auto from = static_cast<std::ptrdiff_t>(acks_on_wire_[s]);
            if (ids.size() == acks_on_wire_[s]) continue;
            std::vector<std::string> args{"XACK", o_.streams[s], o_.group};
            args.insert(args.end(), ids.begin() + from, ids.end());
            detail::append_command(c_, args, "XACK");
            sent.emplace_back(s, ids.size() - acks_on_wire_[s]);
            acks_on_wire_[s] = ids.size();
        }
        return sent;
    }

    /// Reads the replies of append_acks(); only an acknowledged id is forgotten.
    void finish_acks(const std::vector<std::pair<std::size_t, std::size_t>>& sent,
                     bool stoppable = true) {
        for (const auto& [s, n] : sent) {
            expect_ok(wait_reply("XACK", stoppable), "XACK");
            auto& ids = s_.to_ack[s];
            ids.erase(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(n));
            acks_on_wire_[s] -= n;
            shared_.acked += n;
        }
    }

    /// `stoppable` false: the reply is due at once (nothing blocks), so it is waited for even
    /// after a stop request, rather than leaving what it delivers pending.
    RedisReplyPtr wait_reply(std::string_view during, bool stoppable = true) {
        static const std::atomic<bool> never{false};
        auto r = detail::await_reply(c_, o_.poll_interval, stoppable ? stop_ : never, during,
                                     o_.poll_interval + o_.connect_timeout);
        if (!r) throw Stopping{};
        return r;
    }

    RedisReplyPtr call(const std::vector<std::string>& args, std::string_view during) {
        detail::append_command(c_, args, during);
        return wait_reply(during);
    }

    static void expect_ok(const RedisReplyPtr& r, std::string_view during) {
        if (r->type == REDIS_REPLY_ERROR) {
            // NOGROUP after Redis lost its data, WRONGTYPE: a reconnect creates the group again.
            throw ConnectionLost(std::string(during) + ": " + std::string(reply_text(r.get())));
        }
    }

    /// How many more entries the agent can be handed without refusing one.
    std::size_t free_slots() const {
        return o_.max_outstanding > s_.outstanding_count ? o_.max_outstanding - s_.outstanding_count
                                                         : 0;
    }

    /// COUNT for one command over one stream.
    std::size_t room() const { return std::min(o_.batch, free_slots()); }

    /// COUNT for one XREADGROUP over every stream: each may answer with that many, and `taken`
    /// slots are promised to entries received but not handed over yet.
    std::size_t read_count(std::size_t taken = 0) const {
        const std::size_t free = free_slots() > taken ? free_slots() - taken : 0;
        return std::min(o_.batch, free / o_.streams.size());
    }

    bool claim_due() const { return std::chrono::steady_clock::now() >= s_.next_claim; }

    void hand_over(std::size_t s, StreamEntry e) {
        if (!e.data) {
            shared_.malformed += 1;
            log_.log(LogLevel::warn, "skip_malformed",
                     {{"channel", o_.streams[s]},
                      {"id", e.id},
                      {"reason", "stream entry has no 'data' field"}});
            s_.to_ack[s].push_back(std::move(e.id));
            return;
        }
        shared_.read += 1;
        auto settle = [keep = keep_, s, id = e.id](bool ack) {
            if (std::this_thread::get_id() == keep->reader.load(std::memory_order_relaxed)) {
                keep->inline_ack = ack ? 1 : 0;
                return;
            }
            std::lock_guard lock(keep->mutex);
            keep->settled.push_back({s, id, ack});
            keep->changed.notify_all();
        };
        shared_.inline_ack = -1;
        on_entry_(o_.streams[s], *e.data, std::move(settle));
        if (shared_.inline_ack == 1) {
            s_.to_ack[s].push_back(std::move(e.id));
        } else if (shared_.inline_ack < 0) {
            // Settled later by a worker; take_settled runs on this thread, after this, so the
            // settlement always finds the entry here.
            s_.outstanding[s].insert(std::move(e.id));
            ++s_.outstanding_count;
        }
    }

    /// Keeps this consumer's unsettled entries from looking idle (XCLAIM JUSTID does not count
    /// a delivery), then takes over entries other consumers left idle for claim_idle.
    void claim() {
        const auto now = std::chrono::steady_clock::now();
        if (now < s_.next_claim) return;
        // What is settled is acknowledged first, so XAUTOCLAIM never sees it pending.
        send_acks();
        const auto period = std::clamp<std::chrono::milliseconds>(
            o_.claim_idle / 3, o_.poll_interval, std::chrono::milliseconds{10'000});
        s_.next_claim = now + period;
        for (std::size_t s = 0; s < o_.streams.size(); ++s) {
            if (!s_.outstanding[s].empty()) {
                std::vector<std::string> args{"XCLAIM", o_.streams[s], o_.group, consumer_, "0"};
                args.insert(args.end(), s_.outstanding[s].begin(), s_.outstanding[s].end());
                args.emplace_back("JUSTID");
                expect_ok(call(args, "XCLAIM"), "XCLAIM");
            }
            const std::size_t n = room();
            if (n == 0) continue;
            auto r = call({"XAUTOCLAIM", o_.streams[s], o_.group, consumer_,
                           std::to_string(o_.claim_idle.count()), s_.claim_cursor[s], "COUNT",
                           std::to_string(n)},
                          "XAUTOCLAIM");
            expect_ok(r, "XAUTOCLAIM");
            if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
                r->element[1]->type != REDIS_REPLY_ARRAY) {
                throw ConnectionLost("XAUTOCLAIM: unexpected reply");
            }
            s_.claim_cursor[s] = std::string(reply_text(r->element[0]));
            // More to look at: come back on the next round rather than after a period.
            if (s_.claim_cursor[s] != "0-0") s_.next_claim = now;
            std::vector<StreamEntry> claimed;
            for (std::size_t i = 0; i < r->element[1]->elements; ++i) {
                auto e = parse_entry(r->element[1]->element[i]);
                if (!e) continue;
                // Ours and still being planned (a refresh came too late): not twice.
                if (s_.outstanding[s].contains(e->id)) continue;
                if (e->deleted) {
                    s_.to_ack[s].push_back(std::move(e->id));
                    continue;
                }
                claimed.push_back(std::move(*e));
            }
            if (claimed.empty()) continue;
            const auto counts = deliveries(s, claimed);
            shared_.claimed += claimed.size();
            log_.log(LogLevel::info, "stream_claimed",
                     {{"stream", o_.streams[s]}, {"entries", claimed.size()}});
            for (std::size_t i = 0; i < claimed.size(); ++i) {
                if (counts[i] > o_.max_deliveries) {
                    dead_letter(s, std::move(claimed[i]), counts[i]);
                } else {
                    hand_over(s, std::move(claimed[i]));
                }
            }
        }
    }

    /// How often each entry was delivered, this claim included (XPENDING's counter).
    std::vector<std::size_t> deliveries(std::size_t s, const std::vector<StreamEntry>& entries) {
        for (const auto& e : entries) {
            detail::append_command(c_, {"XPENDING", o_.streams[s], o_.group, e.id, e.id, "1"},
                                   "XPENDING");
        }
        std::vector<std::size_t> out;
        for (std::size_t i = 0; i < entries.size(); ++i) {
            auto r = wait_reply("XPENDING");
            expect_ok(r, "XPENDING");
            std::size_t n = 1;
            if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
                r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 4 &&
                r->element[0]->element[3]->type == REDIS_REPLY_INTEGER) {
                n = static_cast<std::size_t>(
                    std::max<long long>(r->element[0]->element[3]->integer, 1));
            }
            out.push_back(n);
        }
        return out;
    }

    void dead_letter(std::size_t s, StreamEntry e, std::size_t count) {
        const std::string& stream = o_.streams[s];
        const std::string dead = stream + ":dead";
        const std::string reason = "delivered " + std::to_string(count) +
                                   " times, more than max_deliveries " +
                                   std::to_string(o_.max_deliveries);
        expect_ok(call({"XADD", dead, "*", "data", e.data.value_or(""), "reason", reason, "id",
                        e.id, "deliveries", std::to_string(count)},
                       "XADD dead letter"),
                  "XADD dead letter");
        shared_.dead += 1;
        log_.log(LogLevel::warn, "stream_dead_letter",
                 {{"stream", stream},
                  {"id", e.id},
                  {"dead_stream", dead},
                  {"deliveries", count},
                  {"reason", reason}});
        s_.to_ack[s].push_back(std::move(e.id));
    }

    /// Queues the XACKs owed and an XREADGROUP of `count` per stream; `block` nullopt: answer
    /// at once, even with nothing new.
    Read queue_read(std::size_t count, std::optional<std::chrono::milliseconds> block) {
        std::vector<std::string> args{"XREADGROUP", "GROUP", o_.group,
                                      consumer_,    "COUNT", std::to_string(count)};
        if (block) {
            args.emplace_back("BLOCK");
            args.push_back(std::to_string(block->count()));
        }
        args.emplace_back("STREAMS");
        args.insert(args.end(), o_.streams.begin(), o_.streams.end());
        args.insert(args.end(), o_.streams.size(), ">");
        Read read{append_acks(), count, block.has_value()};
        detail::append_command(c_, args, "XREADGROUP");
        return read;
    }

    /// New entries, as many as the agent can take; with no room, waits for settlements.
    void read_new() {
        Read read;
        if (!ahead_.empty()) {
            read = std::move(ahead_.front());
            ahead_.pop_front();
        } else {
            const std::size_t n = read_count();
            if (n == 0) {
                send_acks();
                std::unique_lock lock(shared_.mutex);
                shared_.changed.wait_for(lock, o_.poll_interval, [this] {
                    return !shared_.settled.empty() || stop_.load();
                });
                return;
            }
            // While workers hold entries, block briefly: their acknowledgements go out with the
            // next read, so a long block would hold them back.
            read = queue_read(n, s_.outstanding_count > 0
                                     ? std::min(o_.poll_interval, std::chrono::milliseconds{5})
                                     : o_.poll_interval);
        }
        finish_acks(read.acks, read.blocking);
        auto r = wait_reply("XREADGROUP", read.blocking);
        expect_ok(r, "XREADGROUP");
        if (r->type != REDIS_REPLY_ARRAY) return;  // nil: nothing new within the block time
        std::vector<std::pair<std::size_t, const redisReply*>> batches;  // stream, its entries
        std::size_t received = 0;
        bool full = false;
        for (std::size_t i = 0; i < r->elements; ++i) {
            const redisReply* per = r->element[i];
            if (per->type != REDIS_REPLY_ARRAY || per->elements != 2 ||
                per->element[1]->type != REDIS_REPLY_ARRAY) {
                continue;
            }
            const auto name = reply_text(per->element[0]);
            const auto it = std::find(o_.streams.begin(), o_.streams.end(), name);
            if (it == o_.streams.end()) continue;
            batches.emplace_back(static_cast<std::size_t>(it - o_.streams.begin()),
                                 per->element[1]);
            received += per->element[1]->elements;
            full = full || per->element[1]->elements >= read.count;
        }
        // A full batch says more is waiting: the next reads go out now, without blocking, so
        // Redis prepares them while this batch is received and handed over (the two run on
        // different cores instead of taking turns). Not when a claim round is due, which must
        // come first. Each read counts the slots of those ahead of it.
        std::optional<ConnectionLost> lost;
        if (full && !stop_.load() && !claim_due()) {
            std::size_t taken = received;
            for (const auto& a : ahead_) taken += a.count * o_.streams.size();
            while (ahead_.size() < kReadsAhead) {
                const std::size_t n = read_count(taken);
                if (n == 0) break;
                ahead_.push_back(queue_read(n, std::nullopt));
                taken += n * o_.streams.size();
            }
            try {
                detail::send_queued(c_, "XREADGROUP");
            } catch (const ConnectionLost& e) {
                lost = e;  // this batch is received: it is handed over before reconnecting
            }
        }
        for (const auto& [s, entries] : batches) {
            for (std::size_t j = 0; j < entries->elements; ++j) {
                if (auto e = parse_entry(entries->element[j])) hand_over(s, std::move(*e));
            }
        }
        if (lost) throw *lost;
    }

    redisContext* c_;
    const RedisStreamIntakeOptions& o_;
    std::string consumer_;
    RedisStreamIntake::Shared& shared_;
    RedisStreamIntake::Session& s_;
    const RedisStreamIntake::EntryHandler& on_entry_;
    const std::shared_ptr<RedisStreamIntake::Shared>& keep_;
    LogSink& log_;
    const std::atomic<bool>& stop_;
    /// Reads sent before the batches before them were handed over. Two: while one is received
    /// and parsed, Redis is already preparing the next.
    static constexpr std::size_t kReadsAhead = 2;
    std::deque<Read> ahead_;
    std::vector<std::size_t> acks_on_wire_ = std::vector<std::size_t>(o_.streams.size());
};

}  // namespace

RedisStreamIntake::RedisStreamIntake(RedisStreamIntakeOptions options, EntryHandler on_entry,
                                     LogSink& log, StateHandler on_state)
    : options_(std::move(options)),
      on_entry_(std::move(on_entry)),
      log_(log),
      on_state_(std::move(on_state)),
      shared_(std::make_shared<Shared>()),
      session_(std::make_unique<Session>()) {
    if (options_.streams.empty()) throw std::invalid_argument("no Redis stream to read");
    if (!on_entry_) throw std::invalid_argument("RedisStreamIntake needs an entry handler");
    if (options_.group.empty()) throw std::invalid_argument("the stream group needs a name");
    options_.consumer = consumer_name(options_);
    // Every stream may answer one read: room for one entry each, or no read could be sent.
    options_.max_outstanding =
        std::max<std::size_t>(options_.max_outstanding, options_.streams.size());
    options_.batch = std::max<std::size_t>(options_.batch, 1);
    options_.max_deliveries = std::max<std::size_t>(options_.max_deliveries, 1);
    session_->outstanding.resize(options_.streams.size());
    session_->to_ack.resize(options_.streams.size());
    session_->claim_cursor.assign(options_.streams.size(), "0-0");
}

RedisStreamIntake::~RedisStreamIntake() = default;

void RedisStreamIntake::run(const std::atomic<bool>& stop) {
    const std::string where =
        options_.url.redacted() + " group " + options_.group + " as " + options_.consumer;
    const detail::ReconnectPolicy policy{options_.poll_interval, options_.reconnect_initial,
                                         options_.reconnect_max};
    detail::reconnect_loop(options_.url, policy, stop, on_state_, [&](const auto& connected) {
        try {
            RedisContextPtr c = detail::redis_connect(options_.url, options_.connect_timeout);
            Pump pump(c.get(), options_, options_.consumer, *shared_, *session_, on_entry_, shared_,
                      log_, stop);
            shared_->reader = std::this_thread::get_id();
            pump.create_groups();
            connected(where);
            while (!stop.load() || pump.reading_ahead()) pump.step();
        } catch (const Stopping&) {
            // stop was set while waiting for Redis: the loop ends.
        }
    });
}

void RedisStreamIntake::flush() {
    const std::atomic<bool> never{false};
    try {
        RedisContextPtr c;
        Pump pump(nullptr, options_, options_.consumer, *shared_, *session_, on_entry_, shared_,
                  log_, never);
        pump.take_settled();
        bool owed = false;
        for (const auto& ids : session_->to_ack) owed = owed || !ids.empty();
        if (!owed) return;
        c = detail::redis_connect(options_.url, options_.connect_timeout);
        Pump(c.get(), options_, options_.consumer, *shared_, *session_, on_entry_, shared_, log_,
             never)
            .send_acks();
    } catch (const ConnectionLost& e) {
        // Safe: what stays pending is claimed later and skipped as already handled.
        log_.log(LogLevel::warn, "stream_flush_failed", {{"error", e.what()}});
    }
}

RedisStreamStats RedisStreamIntake::stats() const {
    return {shared_->read.load(), shared_->acked.load(), shared_->claimed.load(),
            shared_->dead.load(), shared_->malformed.load()};
}

}  // namespace planner
