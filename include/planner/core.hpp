#pragma once

/// \file
/// The header-only decision logic (`planner::core`): events, cooldown, prompt, house rules,
/// proposals, the router seam and the sink interfaces. Needs nlohmann/json and nothing else; no
/// I/O. `#include <planner/planner.hpp>` for the compiled parts as well, and
/// `<planner/testing.hpp>` (also core, opt-in) for the test doubles.

#include "planner/action_file.hpp"
#include "planner/alertmanager.hpp"
#include "planner/clock.hpp"
#include "planner/cooldown.hpp"
#include "planner/escalation.hpp"
#include "planner/event_clock.hpp"
#include "planner/executor_mapping.hpp"
#include "planner/health_event.hpp"
#include "planner/log_sink.hpp"
#include "planner/messages.hpp"
#include "planner/pending_proposals.hpp"
#include "planner/plan.hpp"
#include "planner/policy.hpp"
#include "planner/proposal.hpp"
#include "planner/remediation_budget.hpp"
#include "planner/router.hpp"
#include "planner/schema.hpp"
#include "planner/shared_reservations.hpp"
#include "planner/silences.hpp"
#include "planner/sinks.hpp"
#include "planner/swappable_router.hpp"
#include "planner/topology.hpp"
#include "planner/version.hpp"
