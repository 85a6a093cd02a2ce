#include "planner/chain_router.hpp"

#include <algorithm>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <utility>

#include "chain_detail.hpp"
#include "json_extract.hpp"
#include "schema_validator.hpp"

namespace planner {

namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using TimePoint = std::chrono::steady_clock::time_point;

double ms_between(TimePoint from, TimePoint to) {
    return std::chrono::duration<double, std::milli>(to - from).count();
}

void check_options(const ChainRouterOptions& o) {
    const auto fail = [](const char* why) { throw std::invalid_argument(why); };
    if (o.models.empty()) fail("the model chain is empty; list at least one spec, e.g. 'rules'");
    if (o.attempt_timeout <= milliseconds::zero()) fail("attempt_timeout must be positive");
    if (o.max_retries < 0 || o.max_retries > 10) fail("max_retries must be between 0 and 10");
    if (o.backoff_initial < milliseconds::zero()) fail("backoff_initial must not be negative");
    if (o.backoff_max < o.backoff_initial) fail("backoff_max must not be below backoff_initial");
    if (o.retry_after_cap < milliseconds::zero()) fail("retry_after_cap must not be negative");
    if (o.failures_before_cooldown < 1) fail("failures_before_cooldown must be at least 1");
    if (o.provider_cooldown < milliseconds::zero()) fail("provider_cooldown must not be negative");
    if (o.max_output_tokens && *o.max_output_tokens < 1) {
        fail("max_output_tokens must be at least 1");
    }
    for (const auto& e : o.models) {
        const auto entry_fail = [&](const char* why) {
            throw std::invalid_argument("model '" + detail::printable(e.spec) + "': " + why);
        };
        if (e.timeout && *e.timeout <= milliseconds::zero()) entry_fail("timeout must be positive");
        if (e.max_tokens < 1) entry_fail("max_tokens must be at least 1");
        if (e.num_ctx && *e.num_ctx < 1) entry_fail("num_ctx must be at least 1");
    }
}

/// Compiled schemas by their text, so a schema is parsed once, not once per call. The proposal
/// schema, the one the planner uses, skips even the serialisation.
class ValidatorCache {
  public:
    std::shared_ptr<const SchemaValidator> get(const json& schema) {
        if (&schema == &proposal_schema() || schema == proposal_schema()) {
            return {std::shared_ptr<void>(), &proposal_validator()};
        }
        auto key = schema.dump();
        std::lock_guard lock(mutex_);
        if (const auto it = cache_.find(key); it != cache_.end()) return it->second;
        if (cache_.size() >= kMaxEntries) cache_.clear();  // a caller inventing schemas per call
        auto validator = std::make_shared<const SchemaValidator>(schema);
        cache_.emplace(std::move(key), validator);
        return validator;
    }

  private:
    static constexpr std::size_t kMaxEntries = 32;
    std::mutex mutex_;
    std::unordered_map<std::string, std::shared_ptr<const SchemaValidator>> cache_;
};

/// Turns a successful answer into a schema-valid object, or marks it invalid and says why.
void check_answer(detail::ProviderAnswer& answer, const SchemaValidator& validator) {
    if (answer.status != AttemptStatus::success) return;
    if (!answer.object) {
        auto extracted = detail::extract_json_object(answer.text);
        if (!extracted.object) {
            answer.status = AttemptStatus::invalid;
            answer.error = std::move(extracted.error);
            return;
        }
        answer.object = std::move(extracted.object);
    }
    const auto errors = validator.validate(*answer.object);
    if (!errors.empty()) {
        answer.status = AttemptStatus::invalid;
        answer.error = detail::printable("does not match the schema: " + to_string(errors), 500);
    }
}

std::string summarize(const std::vector<AttemptRecord>& attempts) {
    std::string out = "no model gave a valid answer:";
    for (std::size_t i = 0; i < attempts.size(); ++i) {
        const auto& a = attempts[i];
        out += i == 0 ? " " : "; ";
        out += a.model + " " + std::string(to_string(a.status));
        if (!a.error.empty()) out += " (" + detail::printable(a.error, 200) + ")";
    }
    return out;
}

/// The chain: asks each model in order, retries what may pass, skips what keeps failing.
class ChainRouter final : public LLMRouter {
  public:
    explicit ChainRouter(const ChainRouterOptions& options)
        : options_(options),
          now_(options.clock ? options.clock : [] { return std::chrono::steady_clock::now(); }),
          sleep_(options.sleep ? options.sleep
                               : [](milliseconds d) { std::this_thread::sleep_for(d); }) {
        std::shared_ptr<HttpTransport> transport = options.transport;
        for (const auto& model : options.models) {
            const auto spec = parse_model_spec(model.spec);
            auto name = spec.text();
            for (const auto& existing : entries_) {
                if (existing.name == name) {
                    throw std::invalid_argument("model '" + detail::printable(name) +
                                                "' appears twice in the chain");
                }
            }
            if (!transport && spec.provider != "rules") transport = make_curl_transport();
            entries_.push_back(Entry{std::move(name),
                                     detail::make_provider(spec, model, options, transport),
                                     model.retry_timeouts});
        }
    }

    RouteResult route(const RouteRequest& request) override {
        const auto validator = validators_.get(request.schema);
        const auto start = now_();
        std::vector<AttemptRecord> attempts;
        for (auto& entry : entries_) {
            for (int retry = 0;; ++retry) {
                if (auto reason = cooling_down(entry)) {
                    if (retry == 0) {
                        attempts.push_back({entry.name, AttemptStatus::skipped, *reason, 0.0});
                    }
                    break;
                }
                const auto began = now_();
                auto answer = entry.provider->ask(request);
                check_answer(answer, *validator);
                const auto ended = now_();
                const bool ok = answer.status == AttemptStatus::success;
                record_outcome(entry, ok, ended);
                attempts.push_back(
                    {entry.name, answer.status, ok ? "" : answer.error, ms_between(began, ended)});
                if (ok) {
                    RouteResult result;
                    result.content = std::move(*answer.object);
                    result.raw_text = std::move(answer.text);
                    result.model_used = entry.name;
                    result.attempts = std::move(attempts);
                    result.latency_ms = ms_between(start, now_());
                    return result;
                }
                if (!answer.retryable || retry >= options_.max_retries) break;
                // A timeout already cost the whole limit; the next model is the better bet.
                if (answer.status == AttemptStatus::timeout && !entry.retry_timeouts) break;
                // This failure may have started a cooldown: the retry would be refused, so
                // move on now instead of pausing for it (a Retry-After can be 30 s).
                if (cooling_down(entry)) break;
                const auto delay = retry_delay(retry, answer.retry_after);
                if (!delay) {
                    attempts.back().error += "; Retry-After is above the cap, not retried";
                    break;
                }
                sleep_(*delay);
            }
        }
        auto what = summarize(attempts);
        throw RouteError(what, std::move(attempts));
    }

  private:
    struct Entry {
        std::string name;  ///< the spec's text: names attempts and model_used
        std::unique_ptr<detail::ModelProvider> provider;
        bool retry_timeouts = false;
        int consecutive_failures = 0;  ///< guarded by health_mutex_
        TimePoint cooling_until{};     ///< guarded by health_mutex_
    };

    /// Why `entry` is not asked now, or nullopt when it may be.
    std::optional<std::string> cooling_down(const Entry& entry) const {
        const auto now = now_();
        std::lock_guard lock(health_mutex_);
        if (entry.consecutive_failures < options_.failures_before_cooldown ||
            now >= entry.cooling_until) {
            return std::nullopt;
        }
        const auto left = std::chrono::ceil<std::chrono::seconds>(entry.cooling_until - now);
        return "cooling down after " + std::to_string(entry.consecutive_failures) +
               " failures in a row, " + std::to_string(left.count()) + " s left";
    }

    /// A failure at the threshold (or after it, once the cooldown ended) starts a cooldown, so a
    /// dead server costs one attempt per cooldown period.
    void record_outcome(Entry& entry, bool ok, TimePoint now) {
        std::lock_guard lock(health_mutex_);
        if (ok) {
            entry.consecutive_failures = 0;
            return;
        }
        entry.consecutive_failures =
            std::min(entry.consecutive_failures + 1, options_.failures_before_cooldown);
        if (entry.consecutive_failures >= options_.failures_before_cooldown) {
            entry.cooling_until = now + options_.provider_cooldown;
        }
    }

    /// The pause before retry number `retry` + 1: the server's Retry-After when it gives one
    /// (nullopt when that is above the cap: better to move on), else exponential backoff with
    /// jitter in [delay/2, delay] so that workers do not retry in lockstep.
    std::optional<milliseconds> retry_delay(int retry,
                                            std::optional<milliseconds> retry_after) const {
        if (retry_after) {
            if (*retry_after > options_.retry_after_cap) return std::nullopt;
            return *retry_after;
        }
        auto delay = options_.backoff_initial;
        for (int i = 0; i < retry && delay < options_.backoff_max; ++i) delay *= 2;
        delay = std::min(delay, options_.backoff_max);
        thread_local std::minstd_rand random{std::random_device{}()};
        std::uniform_int_distribution<milliseconds::rep> jitter(delay.count() / 2, delay.count());
        return milliseconds{jitter(random)};
    }

    const ChainRouterOptions options_;
    const SteadyTimeSource now_;
    const std::function<void(milliseconds)> sleep_;
    std::vector<Entry> entries_;
    mutable std::mutex health_mutex_;
    ValidatorCache validators_;
};

}  // namespace

std::unique_ptr<LLMRouter> make_chain_router(const ChainRouterOptions& options) {
    check_options(options);
    return std::make_unique<ChainRouter>(options);
}

}  // namespace planner
