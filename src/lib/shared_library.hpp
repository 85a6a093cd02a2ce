#pragma once

// A shared library opened at run time with dlopen, for dependencies only some configurations
// use (libcurl for the HTTP models and notifications, libcrypto for webhook signatures): a
// process that never uses them never maps them, which is most of its idle memory. Not installed.

#include <cstring>
#include <string>

namespace planner::detail {

/// One library, opened `RTLD_NOW | RTLD_LOCAL` and never closed: its functions may be running
/// on other threads until exit, and neither libcurl nor OpenSSL supports being unloaded.
class SharedLibrary {
  public:
    /// Throws std::runtime_error with one line naming `soname`, the Debian `package` that
    /// provides it and the loader's reason when it cannot be opened.
    SharedLibrary(std::string soname, std::string package);

    /// The function `name` as a pointer of the type `Fn` (declare it with decltype of the
    /// header's declaration so the two cannot differ). Throws like the constructor when the
    /// library lacks it.
    template <class Fn>
    Fn symbol(const char* name) const {
        static_assert(sizeof(Fn) == sizeof(void*));
        void* address = find(name);
        Fn fn;
        std::memcpy(&fn, &address, sizeof fn);  // POSIX: a data pointer holds a function's
        return fn;
    }

    const std::string& soname() const noexcept { return soname_; }

  private:
    void* find(const char* name) const;

    std::string soname_;
    std::string package_;
    void* handle_ = nullptr;
};

}  // namespace planner::detail
