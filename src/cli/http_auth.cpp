#include "http_auth.hpp"

#include <algorithm>
#include <cctype>

namespace planner::cli {

bool constant_time_equal(std::string_view presented, std::string_view secret) noexcept {
    unsigned char diff = presented.size() == secret.size() ? 0 : 1;
    for (std::size_t i = 0; i < secret.size(); ++i) {
        const char p = i < presented.size() ? presented[i] : '\0';
        diff = static_cast<unsigned char>(diff | static_cast<unsigned char>(p ^ secret[i]));
    }
    return diff == 0;
}

std::optional<std::string_view> bearer_token(std::string_view authorization) noexcept {
    constexpr std::string_view kScheme = "bearer ";
    if (authorization.size() <= kScheme.size()) return std::nullopt;
    for (std::size_t i = 0; i < kScheme.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) {
            return std::nullopt;
        }
    }
    auto token = authorization.substr(kScheme.size());
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
    if (token.empty()) return std::nullopt;
    return token;
}

AuthLimiter::AuthLimiter(AuthLimiterOptions options, SteadyTimeSource now)
    : options_(options), now_(std::move(now)) {}

void AuthLimiter::forget_old(std::deque<std::chrono::steady_clock::time_point>& times,
                             std::chrono::steady_clock::time_point now) const {
    while (!times.empty() && now - times.front() >= options_.window) times.pop_front();
}

bool AuthLimiter::limited(const std::string& client) {
    const std::lock_guard lock(mutex_);
    const auto it = failures_.find(client);
    if (it == failures_.end()) return false;
    forget_old(it->second, now_());
    if (it->second.empty()) {
        failures_.erase(it);
        return false;
    }
    return it->second.size() >= options_.max_failures;
}

std::size_t AuthLimiter::fail(const std::string& client) {
    const std::lock_guard lock(mutex_);
    const auto now = now_();
    if (!failures_.contains(client) && failures_.size() >= options_.max_clients) {
        // Forget the client whose last failure is oldest.
        const auto oldest = std::min_element(
            failures_.begin(), failures_.end(),
            [](const auto& a, const auto& b) { return a.second.back() < b.second.back(); });
        failures_.erase(oldest);
    }
    auto& times = failures_[client];
    forget_old(times, now);
    times.push_back(now);
    return times.size();
}

}  // namespace planner::cli
