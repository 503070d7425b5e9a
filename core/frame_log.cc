#include "core/frame_log.h"

#include <cerrno>
#include <cstring>
#include <sstream>

#include "core/frame_report.h"

namespace fiancee {

FrameLog::FrameLog(const std::string& path, int num_exits) : path_(path), num_exits_(num_exits) {
  file_ = std::fopen(path.c_str(), "w");
  if (!file_) throw FrameLogError("stats-location '" + path + "': cannot open for writing: " + std::strerror(errno));
  std::ostringstream header;
  header << "frame,pts_ns,exit,forced,late,fell_back,passthrough,scale_factor,gflops,backbone_gflops,ms,measured_quality,frame_ms,routed_threshold,held,budget_limited,over_budget";
  for (int e = 0; e < num_exits; ++e) header << ",predicted_exit" << e;
  header << "\n";
  put(header.str());
}

FrameLog::~FrameLog() {
  if (file_) std::fclose(file_);
}

void FrameLog::write(uint64_t frame, int64_t pts_ns, const FrameReport& r) {
  if (!file_) return;
  std::ostringstream line;
  line << frame << "," << pts_ns << "," << r.exit << "," << r.forced << "," << r.late << "," << r.fell_back << ","
       << r.passthrough << "," << r.scale_factor << "," << r.gflops << "," << r.backbone_gflops << "," << r.total_ms << ",";
  if (r.measured >= 0) line << r.measured;
  line << "," << r.frame_ms << "," << r.threshold << "," << r.held << "," << r.budget_limited << "," << r.over_budget;
  for (int e = 0; e < num_exits_; ++e) {
    line << ",";
    if (e < static_cast<int>(r.predicted.size())) line << r.predicted[e];
  }
  line << "\n";
  put(line.str());
}

void FrameLog::close() {
  if (!file_) return;
  // fclose flushes the buffered lines: on a full disk this is where a short run learns it.
  std::FILE* file = file_;
  file_ = nullptr;
  if (std::fclose(file) != 0) fail("writing the last lines failed", errno);
}

void FrameLog::put(const std::string& text) {
  if (std::fwrite(text.data(), 1, text.size(), file_) != text.size()) fail("write failed", errno);
}

void FrameLog::fail(const std::string& what, int error) {
  if (file_) std::fclose(file_);
  file_ = nullptr;
  throw FrameLogError("stats-location '" + path_ + "': " + what + ": " + std::strerror(error));
}

}  // namespace fiancee
