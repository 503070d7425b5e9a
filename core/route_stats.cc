#include "core/route_stats.h"

#include "core/frame_report.h"

namespace fiancee {

void RouteStats::add(const FrameReport& report) {
  ++frames_;
  if (report.exit >= 0) {
    if (exit_counts_.size() < static_cast<size_t>(report.num_exits)) exit_counts_.resize(report.num_exits, 0);
    ++exit_counts_[report.exit];
    if (!report.passthrough) {
      switches_ += last_exit_ >= 0 && report.exit != last_exit_;
      last_exit_ = report.exit;
    }
  }
  held_ += report.held;
  budget_limited_ += report.budget_limited;
  over_budget_ += report.over_budget;
  batched_ += report.batch > 1;
  late_ += report.late;
  fell_back_ += report.fell_back;
  passthrough_ += report.passthrough;
  gflops_ += report.gflops;
  backbone_gflops_ += report.backbone_gflops;
  ms_ += report.total_ms;
}

void RouteStats::reset() { *this = RouteStats(); }

double RouteStats::mean_gflops() const { return frames_ ? gflops_ / frames_ : 0.0; }
double RouteStats::mean_ms() const { return frames_ ? ms_ / frames_ : 0.0; }
double RouteStats::saved_share() const { return backbone_gflops_ > 0 ? 1.0 - gflops_ / backbone_gflops_ : 0.0; }

}  // namespace fiancee
