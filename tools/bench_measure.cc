#include "tools/bench_measure.h"

#include <algorithm>
#include <cmath>
#include <fstream>

namespace fiancee::tools {

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

double process_memory_mb(const std::string& field) {
  std::ifstream in("/proc/self/status");
  const std::string key = field + ":";
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) return std::stod(line.substr(key.size())) / 1024.0;
  return 0;
}

}  // namespace fiancee::tools
