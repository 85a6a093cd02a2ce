#include "shared_library.hpp"

#include <dlfcn.h>

#include <stdexcept>
#include <utility>

namespace planner::detail {

namespace {

/// dlerror()'s text on one line (it has none today, but it is the loader's to word).
std::string loader_error() {
    const char* e = dlerror();
    std::string text = e ? e : "unknown error";
    for (char& c : text) {
        if (c == '\n' || c == '\r') c = ' ';
    }
    return text;
}

}  // namespace

SharedLibrary::SharedLibrary(std::string soname, std::string package)
    : soname_(std::move(soname)), package_(std::move(package)) {
    handle_ = dlopen(soname_.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle_) {
        throw std::runtime_error("cannot load " + soname_ + " (install the " + package_ +
                                 " package): " + loader_error());
    }
}

void* SharedLibrary::find(const char* name) const {
    dlerror();  // clear a stale error, so a null from dlsym is told apart from a null symbol
    void* address = dlsym(handle_, name);
    if (!address) {
        throw std::runtime_error(soname_ + " has no " + name + " (install the " + package_ +
                                 " package): " + loader_error());
    }
    return address;
}

}  // namespace planner::detail
