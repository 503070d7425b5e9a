// What each route costs in time on this machine, learned online per stream
// for the latency budget (RouteSettings::latency_budget_ms). A frame's time is
// the element's whole time for it: a fixed part outside the network (front
// end, framing) plus the engine's time for the route it took. Each part is
// the window's 90th percentile, so a route that "fits" fits most frames, not
// the average one. A route not taken lately is scaled by GFLOPs from the
// taken route nearest in cost (an estimate until it is taken). Plain C++.
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <vector>

namespace fiancee {

struct FrameReport;

class RouteTimes {
 public:
  static constexpr size_t kWindow = 30;     // frames per route the estimate looks back on
  static constexpr double kQuantile = 0.9;  // of each part's recent times

  explicit RouteTimes(size_t window = kWindow, double quantile = kQuantile);

  // A processed frame with frame_ms set. A frame rendered without a network
  // (exit -1, not passthrough) counts for the time outside it. Frames that say
  // nothing about their route's time are ignored: passthrough, no time, or
  // measured (the backbone ran too).
  void push(const FrameReport& report);

  // The time of a frame without any network (the time outside it); 0 before any frame.
  double outside_ms() const;

  // Estimated whole-frame time per route, for routes costing `gflops` (one per
  // exit, backbone last, as the manifest gives them); empty before any frame.
  std::vector<double> estimate_ms(const std::vector<double>& gflops) const;

  void reset();

 private:
  size_t window_;
  double quantile_;
  std::deque<double> outside_ms_;                  // frame_ms - the engine's time
  std::map<double, std::deque<double>> route_ms_;  // the engine's time, by the route's GFLOPs
};

}  // namespace fiancee
