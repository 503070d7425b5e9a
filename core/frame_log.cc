#include "core/frame_log.h"

#include "core/errors.h"
#include "core/frame_report.h"

namespace fiancee {

FrameLog::FrameLog(const std::string& path, int num_exits) : path_(path), out_(path, std::ios::trunc), num_exits_(num_exits) {
  if (!out_) throw InputError("stats-location '" + path + "': cannot open for writing");
  out_ << "frame,pts_ns,exit,forced,late,fell_back,passthrough,scale_factor,gflops,backbone_gflops,ms,measured_quality";
  for (int e = 0; e < num_exits; ++e) out_ << ",predicted_exit" << e;
  out_ << "\n";
}

void FrameLog::write(uint64_t frame, int64_t pts_ns, const FrameReport& r) {
  out_ << frame << "," << pts_ns << "," << r.exit << "," << r.forced << "," << r.late << "," << r.fell_back << "," << r.passthrough << ","
       << r.scale_factor << "," << r.gflops << "," << r.backbone_gflops << "," << r.total_ms << ",";
  if (r.measured >= 0) out_ << r.measured;
  for (int e = 0; e < num_exits_; ++e) {
    out_ << ",";
    if (e < static_cast<int>(r.predicted.size())) out_ << r.predicted[e];
  }
  out_ << "\n";
  if (!out_) throw InputError("stats-location '" + path_ + "': write failed (disk full?)");
}

}  // namespace fiancee
