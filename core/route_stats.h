// Running totals over frames, for the element's `stats` property and its
// periodic bus summary. Plain C++, no LibTorch.
#pragma once

#include <cstdint>
#include <vector>

namespace fiancee {

struct FrameReport;

class RouteStats {
 public:
  void add(const FrameReport& report);
  void reset();

  int64_t frames() const { return frames_; }
  const std::vector<int64_t>& exit_counts() const { return exit_counts_; }
  int64_t late_frames() const { return late_; }
  int64_t fallback_frames() const { return fell_back_; }
  int64_t passthrough_frames() const { return passthrough_; }
  // Rendered frames whose exit differs from the previous rendered frame's.
  int64_t exit_switches() const { return switches_; }
  // Frames that exit-hysteresis kept on a costlier exit than the router wanted.
  int64_t held_frames() const { return held_; }
  // Frames the latency budget sent to an exit not predicted within the threshold.
  int64_t budget_limited_frames() const { return budget_limited_; }
  // Frames whose whole time exceeded the latency budget.
  int64_t over_budget_frames() const { return over_budget_; }
  // Frames that ran in one engine batch with other streams' frames (shared engine).
  int64_t batched_frames() const { return batched_; }
  double mean_gflops() const;
  double mean_ms() const;
  // GFLOPs saved relative to always running the backbone, as a share of it.
  double saved_share() const;

 private:
  int64_t frames_ = 0, late_ = 0, fell_back_ = 0, passthrough_ = 0, switches_ = 0, held_ = 0, budget_limited_ = 0, over_budget_ = 0, batched_ = 0;
  int last_exit_ = -1;
  std::vector<int64_t> exit_counts_;
  double gflops_ = 0, backbone_gflops_ = 0, ms_ = 0;
};

}  // namespace fiancee
