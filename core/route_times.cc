#include "core/route_times.h"

#include <algorithm>
#include <cmath>

#include "core/frame_report.h"

namespace fiancee {

namespace {

double quantile(const std::deque<double>& v, double q) {
  std::vector<double> s(v.begin(), v.end());
  std::sort(s.begin(), s.end());
  return s[std::min(s.size() - 1, static_cast<size_t>(q * static_cast<double>(s.size())))];
}

void push_window(std::deque<double>& d, double v, size_t window) {
  d.push_back(v);
  while (d.size() > window) d.pop_front();
}

}  // namespace

RouteTimes::RouteTimes(size_t window, double quantile) : window_(std::max<size_t>(window, 1)), quantile_(quantile) {}

void RouteTimes::push(const FrameReport& r) {
  if (r.passthrough || !(r.frame_ms > 0) || !(r.total_ms >= 0)) return;
  if (r.exit < 0) return push_window(outside_ms_, r.frame_ms, window_);
  if (!(r.gflops > 0)) return;
  if (r.measured >= 0 && r.exit + 1 != r.num_exits) return;
  push_window(outside_ms_, std::max(r.frame_ms - r.total_ms, 0.0), window_);
  push_window(route_ms_[r.gflops], r.total_ms, window_);
}

double RouteTimes::outside_ms() const { return outside_ms_.empty() ? 0.0 : quantile(outside_ms_, quantile_); }

std::vector<double> RouteTimes::estimate_ms(const std::vector<double>& gflops) const {
  if (route_ms_.empty()) return {};
  const double outside = quantile(outside_ms_, quantile_);
  std::vector<double> out;
  for (double g : gflops) {
    // The taken route nearest in cost (on a log scale); its time scaled to this cost.
    auto nearest = route_ms_.begin();
    for (auto it = route_ms_.begin(); it != route_ms_.end(); ++it)
      if (std::abs(std::log(it->first / g)) < std::abs(std::log(nearest->first / g))) nearest = it;
    out.push_back(outside + quantile(nearest->second, quantile_) * g / nearest->first);
  }
  return out;
}

void RouteTimes::reset() {
  outside_ms_.clear();
  route_ms_.clear();
}

}  // namespace fiancee
