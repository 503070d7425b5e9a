// RouteTimes (core/route_times.h): the latency budget's per-route time estimates.
#include <gtest/gtest.h>

#include "core/frame_report.h"
#include "core/route_times.h"

namespace fiancee {
namespace {

const std::vector<double> kGflops{1, 2, 8};

FrameReport frame(int exit, double engine_ms, double frame_ms) {
  FrameReport r;
  r.exit = exit;
  r.num_exits = 3;
  r.gflops = kGflops[size_t(exit)];
  r.total_ms = engine_ms;
  r.frame_ms = frame_ms;
  return r;
}

TEST(RouteTimes, NothingKnownBeforeTheFirstFrame) {
  RouteTimes t;
  EXPECT_TRUE(t.estimate_ms(kGflops).empty());
}

TEST(RouteTimes, TakenRoutesByTheirOwnTimesOthersScaledByGflops) {
  RouteTimes t;
  for (int i = 0; i < 10; ++i) t.push(frame(0, 4, 10));  // 6 ms outside the network
  auto e = t.estimate_ms(kGflops);
  ASSERT_EQ(e.size(), 3u);
  EXPECT_DOUBLE_EQ(e[0], 10);
  EXPECT_DOUBLE_EQ(e[1], 6 + 8);   // exit 0's 4 ms at twice the GFLOPs
  EXPECT_DOUBLE_EQ(e[2], 6 + 32);
  for (int i = 0; i < 10; ++i) t.push(frame(2, 20, 26));
  e = t.estimate_ms(kGflops);
  EXPECT_DOUBLE_EQ(e[2], 26);
  EXPECT_DOUBLE_EQ(e[1], 6 + 8);  // nearest taken route in cost (log scale): exit 0
}

TEST(RouteTimes, SlowFramesCountAtTheNinetiethPercentile) {
  RouteTimes t(30);
  for (int i = 0; i < 30; ++i) t.push(frame(0, i % 10 == 9 ? 40 : 4, (i % 10 == 9 ? 40 : 4) + 6));
  // 3 of 30 frames took 40 ms: the estimate covers them, the mean (7.6 ms) would not.
  EXPECT_DOUBLE_EQ(t.estimate_ms(kGflops)[0], 46);
}

TEST(RouteTimes, FramesWithoutTheNetworkTimeTheOutsideOnly) {
  RouteTimes t;
  auto warp_only = frame(0, 0, 7);
  warp_only.exit = -1;
  warp_only.gflops = 0;
  t.push(warp_only);
  EXPECT_DOUBLE_EQ(t.outside_ms(), 7);
  EXPECT_TRUE(t.estimate_ms(kGflops).empty()) << "no network route timed yet";
}

TEST(RouteTimes, FramesWithoutARouteTimeAreIgnored) {
  RouteTimes t;
  auto passed = frame(0, 0, 3);
  passed.passthrough = true;
  t.push(passed);
  t.push(frame(0, 4, 0));  // no element time
  auto measured = frame(0, 30, 36);
  measured.measured = 0.1;  // the backbone ran as well
  t.push(measured);
  EXPECT_TRUE(t.estimate_ms(kGflops).empty());
  t.push(frame(0, 4, 10));
  t.reset();
  EXPECT_TRUE(t.estimate_ms(kGflops).empty());
}

}  // namespace
}  // namespace fiancee
