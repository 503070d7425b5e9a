// One CSV line per frame: what the element's stats-location property writes,
// for batch jobs and evaluation of recorded runs.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>

namespace fiancee {

struct FrameReport;

class FrameLog {
 public:
  // Truncates `path`; throws InputError naming it when it cannot be written.
  FrameLog(const std::string& path, int num_exits);
  // pts_ns < 0: unknown timestamp.
  void write(uint64_t frame, int64_t pts_ns, const FrameReport& report);

 private:
  std::string path_;
  std::ofstream out_;
  int num_exits_;
};

}  // namespace fiancee
