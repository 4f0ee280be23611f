#pragma once
/// Part 1 of bench_cluster: what a request costs when it crosses the network. One process
/// hosts a pool (instant executor: no CLI) in an actor system configured as a node and
/// publishes it on 127.0.0.1; a `remote_pool` client in the same process has its own actor
/// system, so its requests go through loopback TCP and CAF's serialization. Rounds
/// interleave local facade calls and remote calls so drift hits both alike.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace claude_pool::bench {

struct round_trip_plan {
  int calls_per_round = 1000;
  int rounds = 5;
  int warm_up_calls = 200; ///< per call kind and side, untimed
  int slots = 4;           ///< the pool's slots (they make `status()` bigger)
  std::function<void(const std::string&)> progress;
};

/// One side (local or remote) of one call kind: every sample, per-round medians, summary.
struct call_latency {
  std::vector<double> us;            ///< every timed call, µs
  std::vector<double> round_medians; ///< µs
  double median_us = 0, p99_us = 0;
};

/// One call kind (`submit`, `status`) measured four ways: in process, through the node's
/// authenticated port (a token; what `serve` does by default), through an open port
/// (`--allow-insecure`: no credentials, no per-connection checks), and through a mutual-TLS
/// port (certificates, every byte encrypted) of the same pool.
struct call_comparison {
  std::string call;
  call_latency local, remote, open, tls;
  std::vector<double> round_ratios; ///< remote median / local median, per round
  double ratio = 0;                 ///< median of `round_ratios`
  std::vector<double> auth_round_ratios; ///< remote (token) median / open median, per round
  double auth_ratio = 0;                 ///< median of `auth_round_ratios`
  std::vector<double> tls_round_ratios;  ///< TLS median / open median, per round
  double tls_ratio = 0;                  ///< median of `tls_round_ratios`
};

struct round_trip_figures {
  round_trip_plan plan;
  std::uint16_t port = 0;
  /// `status` (a pool without tasks), `submit`, `status_loaded` (after the submissions).
  std::vector<call_comparison> calls;
  std::uint64_t tasks_held = 0; ///< tasks the pool held for `status_loaded`
};

/// Runs the rounds; throws what the pool or the client throws.
round_trip_figures measure_round_trips(const round_trip_plan& plan);

} // namespace claude_pool::bench
