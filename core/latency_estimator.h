// The element's own processing latency: a running estimate of what a
// backbone frame costs, and when the estimate has grown enough that the
// pipeline should re-query latency. Plain C++ (no GLib, no LibTorch); the
// element keeps the lock and posts the messages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>

namespace fiancee {

struct FrameReport;

class LatencyEstimator {
 public:
  static constexpr size_t kWindow = 30;         // frames the estimate looks back on
  static constexpr double kRepostGrowth = 1.2;  // re-announce when the estimate grows by > 20% (or shrinks as much)

  explicit LatencyEstimator(size_t window = kWindow, double repost_growth = kRepostGrowth);

  // Adds one processed frame. Its engine time counts scaled to the backbone
  // (the router may pick the backbone on any frame), plus the element's time
  // outside the engine (FrameReport::frame_ms, when set); pass-through frames say
  // nothing about the network and are ignored. True when the estimate now
  // exceeds the last announced one by the growth factor, or has stayed below
  // it by that factor over a whole window: the caller posts a latency
  // message, and the estimate counts as announced.
  bool push(const FrameReport& report);

  // The estimate in nanoseconds: the slowest backbone-equivalent frame in the
  // window; 0 before the first frame.
  uint64_t estimate_ns() const { return estimate_ns_; }

  // The estimate, for an answer to a latency query: from now on it counts as
  // announced (a later push re-announces only on further growth).
  uint64_t announce();

  void reset();

 private:
  size_t window_;
  double repost_growth_;
  std::deque<double> recent_ms_;
  uint64_t estimate_ns_ = 0;
  uint64_t announced_ns_ = 0;
};

}  // namespace fiancee
