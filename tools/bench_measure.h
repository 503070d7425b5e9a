// What both bench commands (bench.cc, bench_streams.cc) measure with: a
// quantile of timings and this process's memory from /proc/self/status.
#pragma once

#include <string>
#include <vector>

namespace fiancee::tools {

// The p-quantile (0..1) of v by rank (no interpolation); 0 for an empty v.
double percentile(std::vector<double> v, double p);

// A memory field of /proc/self/status in MB ("VmRSS" now, "VmHWM" the peak); 0 if absent.
double process_memory_mb(const std::string& field);

}  // namespace fiancee::tools
