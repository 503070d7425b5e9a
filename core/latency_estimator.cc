#include "core/latency_estimator.h"

#include <algorithm>

#include "core/frame_report.h"

namespace fiancee {

LatencyEstimator::LatencyEstimator(size_t window, double repost_growth)
    : window_(std::max<size_t>(window, 1)), repost_growth_(repost_growth) {}

bool LatencyEstimator::push(const FrameReport& report) {
  if (report.passthrough) return false;
  double ms = report.total_ms;
  // A cheap exit's time stands for what the backbone would have taken.
  if (report.gflops > 0 && report.backbone_gflops > report.gflops) ms *= report.backbone_gflops / report.gflops;
  if (!(ms >= 0)) return false;  // NaN or negative: not a time
  recent_ms_.push_back(ms);
  while (recent_ms_.size() > window_) recent_ms_.pop_front();
  const double max_ms = *std::max_element(recent_ms_.begin(), recent_ms_.end());
  estimate_ns_ = static_cast<uint64_t>(max_ms * 1e6);
  if (estimate_ns_ > 0 && static_cast<double>(estimate_ns_) > repost_growth_ * static_cast<double>(announced_ns_)) {
    announced_ns_ = estimate_ns_;
    return true;
  }
  return false;
}

uint64_t LatencyEstimator::announce() {
  announced_ns_ = std::max(announced_ns_, estimate_ns_);
  return estimate_ns_;
}

void LatencyEstimator::reset() {
  recent_ms_.clear();
  estimate_ns_ = 0;
  announced_ns_ = 0;
}

}  // namespace fiancee
