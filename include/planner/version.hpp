#pragma once

/// The library's version; bumped together with the CMake project version.
#define PLANNER_VERSION_MAJOR 0
#define PLANNER_VERSION_MINOR 1
#define PLANNER_VERSION_PATCH 0
#define PLANNER_VERSION_STRING "0.1.0"
