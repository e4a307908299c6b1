// appkeys — the umbrella header: the whole client and its executors, nothing for tests.
// The network transports need libraries of their own and are included separately:
// <appkeys/transport/httplib.hpp>, <appkeys/transport/curl.hpp>,
// <appkeys/transport/curl_multi.hpp>. The in-memory fake server and fault injection,
// for users' tests, are in <appkeys/testing.hpp> (or <appkeys/testing/fake.hpp> alone).
#pragma once

// In dependency order, which is also the order of the single header: not sorted.
// clang-format off
#include <appkeys/config.hpp>
#include <appkeys/version.hpp>
#include <appkeys/error.hpp>
#include <appkeys/result.hpp>
#include <appkeys/object_id.hpp>
#include <appkeys/secret.hpp>
#include <appkeys/api_key.hpp>
#include <appkeys/credentials.hpp>
#include <appkeys/retry.hpp>
#include <appkeys/app_config.hpp>
#include <appkeys/http.hpp>
#include <appkeys/concepts.hpp>
#include <appkeys/user.hpp>
#include <appkeys/exec/sync.hpp>
#include <appkeys/exec/no_throw.hpp>
#include <appkeys/exec/job.hpp>
#include <appkeys/exec/thread_pool.hpp>
#include <appkeys/exec/run_loop.hpp>
#include <appkeys/exec/future.hpp>
#include <appkeys/exec/task.hpp>
#include <appkeys/exec/sync_wait.hpp>
#include <appkeys/exec/coro.hpp>
#include <appkeys/exec/callback.hpp>
#include <appkeys/exec/when_all.hpp>
#include <appkeys/api_key_auth.hpp>
#include <appkeys/app.hpp>
// clang-format on
