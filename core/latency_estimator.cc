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
  // The element's time outside the network (front end, framing) counts as it is.
  if (report.frame_ms > report.total_ms) ms += report.frame_ms - report.total_ms;
  if (!(ms >= 0)) return false;  // NaN or negative: not a time
  recent_ms_.push_back(ms);
  while (recent_ms_.size() > window_) recent_ms_.pop_front();
  const double max_ms = *std::max_element(recent_ms_.begin(), recent_ms_.end());
  estimate_ns_ = static_cast<uint64_t>(max_ms * 1e6);
  const double estimate = static_cast<double>(estimate_ns_), announced = static_cast<double>(announced_ns_);
  // Shrinking counts once a whole window is below the announced value by the
  // factor: the first frame's warm-up would otherwise hold a live sink back for good.
  const bool shrank = recent_ms_.size() >= window_ && repost_growth_ * estimate < announced;
  if (estimate_ns_ > 0 && (estimate > repost_growth_ * announced || shrank)) {
    announced_ns_ = estimate_ns_;
    return true;
  }
  return false;
}

uint64_t LatencyEstimator::announce() {
  announced_ns_ = estimate_ns_;
  return estimate_ns_;
}

void LatencyEstimator::reset() {
  recent_ms_.clear();
  estimate_ns_ = 0;
  announced_ns_ = 0;
}

}  // namespace fiancee
