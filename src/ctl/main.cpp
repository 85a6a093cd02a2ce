#include <string>
#include <vector>

#include "ctl.hpp"

int main(int argc, char** argv) {
    return planner::ctl::run_ctl(std::vector<std::string>(argv + 1, argv + argc), stdout, stderr);
}
