#pragma once
/// What this process holds in memory, for the scale scenario and the peak-RSS figures.

#include <cstdint>

namespace claude_pool::bench {

/// Bytes malloc has handed out and not got back (all arenas, mmapped blocks included):
/// the finest measure of "memory per slot / per record", free of page granularity.
std::uint64_t heap_in_use_bytes();

/// Resident set size now, in bytes (/proc/self/statm).
std::uint64_t resident_bytes();

/// Peak resident set size of this process alone (getrusage RUSAGE_SELF), in KiB.
std::uint64_t peak_rss_kib();

} // namespace claude_pool::bench
