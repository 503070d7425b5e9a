// ExitHysteresis (core/exit_hysteresis.h) and the exit switches RouteStats counts.
#include <gtest/gtest.h>

#include <vector>

#include "core/exit_hysteresis.h"
#include "core/frame_report.h"
#include "core/route_stats.h"

namespace fiancee {
namespace {

// A router that wants these exits frame by frame; the engine's rule applied to the floor.
std::vector<int> route(const std::vector<int>& wanted, int hold, RouteStats* stats = nullptr) {
  ExitHysteresis h;
  std::vector<int> taken;
  for (int w : wanted) {
    FrameReport r;
    r.num_exits = 4;
    r.wanted_exit = w;
    r.exit = std::max(w, h.floor(hold));
    r.held = r.exit != w;
    h.update(r, hold);
    if (stats) stats->add(r);
    taken.push_back(r.exit);
  }
  return taken;
}

TEST(ExitHysteresis, OffFollowsTheRouter) {
  const std::vector<int> wanted{0, 2, 0, 1, 0, 3, 0};
  EXPECT_EQ(route(wanted, 0), wanted);
}

TEST(ExitHysteresis, UpAtOnceDownAfterHoldFrames) {
  //                          up      3 frames want less -> down
  const std::vector<int> wanted{0, 0, 2, 0, 0, 0, 0, 1, 0};
  EXPECT_EQ(route(wanted, 3), (std::vector<int>{0, 0, 2, 2, 2, 2, 0, 1, 1}));
  // A wobble shorter than the hold never takes the route down.
  EXPECT_EQ(route({2, 0, 0, 2, 0, 0, 2}, 3), (std::vector<int>{2, 2, 2, 2, 2, 2, 2}));
}

TEST(ExitHysteresis, FewerSwitchesThanTheRouterAlone) {
  std::vector<int> wanted;
  for (int i = 0; i < 100; ++i) wanted.push_back(i % 3 == 0 ? 1 : 0);  // flickers every few frames
  RouteStats alone, held;
  route(wanted, 0, &alone);
  route(wanted, 5, &held);
  EXPECT_EQ(alone.exit_switches(), 66);
  EXPECT_EQ(held.exit_switches(), 0);  // starts on exit 1 and never gets 5 calm frames to go down
  EXPECT_EQ(alone.held_frames(), 0);
  EXPECT_EQ(held.held_frames(), 66);
}

TEST(ExitHysteresis, FramesWithoutARouteLeaveItAlone) {
  ExitHysteresis h;
  FrameReport r;
  r.wanted_exit = r.exit = 2;
  h.update(r, 4);
  FrameReport skipped;
  skipped.passthrough = true;
  h.update(skipped, 4);
  FrameReport late;
  late.late = true, late.exit = late.wanted_exit = 0;
  h.update(late, 4);
  EXPECT_EQ(h.floor(4), 2);
  EXPECT_EQ(h.floor(0), -1);
  h.reset();
  EXPECT_EQ(h.floor(4), -1);
}

}  // namespace
}  // namespace fiancee
