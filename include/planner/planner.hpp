#pragma once

/// \file
/// Everything an embedder needs: `#include <planner/planner.hpp>` and link `planner::planner`.
/// The decision logic alone is `<planner/core.hpp>` with `planner::core`.

#include "planner/core.hpp"

#include "planner/action_store.hpp"
#include "planner/agent.hpp"
#include "planner/chain_router.hpp"
#include "planner/config.hpp"
#include "planner/expiry_sweeper.hpp"
#include "planner/file_action_store.hpp"
#include "planner/file_sinks.hpp"
#include "planner/http_transport.hpp"
#include "planner/listen_address.hpp"
#include "planner/log.hpp"
#include "planner/notifier.hpp"
#include "planner/planner_service.hpp"
#include "planner/redis_reservations.hpp"
#include "planner/redis_silences.hpp"
#include "planner/redis_stream_intake.hpp"
#include "planner/redis_stream_producer.hpp"
#include "planner/redis_subscriber.hpp"
#include "planner/silence_store.hpp"
#include "planner/url.hpp"
#include "planner/validation.hpp"
