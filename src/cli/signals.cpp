#include "signals.hpp"

#include <signal.h>

#include <cstdlib>

#include "planner_run.hpp"

namespace planner::cli {

SignalThread::SignalThread(StopSignal& stop, LogSink& log, std::function<void()> on_hangup) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    // The thread starts with the signals blocked (main() blocks them for every thread; this
    // covers a caller that did not), so the destructor's wake-up is never a kill.
    sigset_t previous;
    pthread_sigmask(SIG_BLOCK, &set, &previous);
    thread_ = std::thread([this, set, &stop, &log, on_hangup = std::move(on_hangup)] {
        const timespec tick{0, 200'000'000};
        while (!done_.load()) {
            const int sig = sigtimedwait(&set, nullptr, &tick);
            if (sig <= 0 || done_.load()) continue;
            if (sig == SIGHUP) {
                if (on_hangup) {
                    on_hangup();
                } else {
                    log.log(LogLevel::info, "sighup_ignored", {{"reason", "nothing to reload"}});
                }
                continue;
            }
            const char* name = sig == SIGINT ? "SIGINT" : "SIGTERM";
            if (stop.requested()) {
                log.log(LogLevel::warn, "forced_exit", {{"signal", name}});
                std::_Exit(kExitUnhealthy);
            }
            log.log(LogLevel::info, "stop_requested", {{"signal", name}});
            stop.request();
        }
    });
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

SignalThread::~SignalThread() {
    done_ = true;
    // Wake sigtimedwait now instead of at its next tick: every exit, and so every
    // --replay run, took up to 200 ms longer than its work.
    pthread_kill(thread_.native_handle(), SIGTERM);
    thread_.join();
}

}  // namespace planner::cli
