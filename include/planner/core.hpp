#pragma once

/// \file
/// The header-only decision logic (`planner::core`): events, cooldown, prompt, house rules,
/// proposals and the router seam. Needs nlohmann/json and nothing else; no I/O.
/// `#include <planner/planner.hpp>` for the compiled parts as well.

#include "planner/clock.hpp"
#include "planner/cooldown.hpp"
#include "planner/executor_mapping.hpp"
#include "planner/health_event.hpp"
#include "planner/messages.hpp"
#include "planner/pending_proposals.hpp"
#include "planner/plan.hpp"
#include "planner/policy.hpp"
#include "planner/proposal.hpp"
#include "planner/router.hpp"
#include "planner/schema.hpp"
#include "planner/sinks.hpp"
#include "planner/version.hpp"
