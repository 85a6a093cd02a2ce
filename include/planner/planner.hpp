#pragma once

/// \file
/// Everything an embedder needs: `#include <planner/planner.hpp>`.

#include "planner/agent.hpp"
#include "planner/chain_router.hpp"
#include "planner/clock.hpp"
#include "planner/cooldown.hpp"
#include "planner/executor_mapping.hpp"
#include "planner/file_sinks.hpp"
#include "planner/health_event.hpp"
#include "planner/http_transport.hpp"
#include "planner/log.hpp"
#include "planner/messages.hpp"
#include "planner/plan.hpp"
#include "planner/policy.hpp"
#include "planner/proposal.hpp"
#include "planner/redis_subscriber.hpp"
#include "planner/router.hpp"
#include "planner/schema.hpp"
#include "planner/sinks.hpp"
#include "planner/url.hpp"
#include "planner/version.hpp"
