#include <gtest/gtest.h>

#include "core/errors.h"
#include "core/router.h"

using fiancee::choose_route;

namespace {
const std::vector<double> kGflops{47, 85, 127, 213};  // paper Table 2, SF 1/15
}

TEST(Router, PicksCheapestExitBelowThreshold) {
  EXPECT_EQ(choose_route({0.20, 0.08, 0.05, 0}, kGflops, 0.1, -1, false).exit, 1);
  EXPECT_EQ(choose_route({0.05, 0.08, 0.01, 0}, kGflops, 0.1, -1, false).exit, 0);
  EXPECT_EQ(choose_route({0.30, 0.20, 0.09, 0}, kGflops, 0.1, -1, false).exit, 2);
}

TEST(Router, BackboneWhenNoBranchQualifies) {
  EXPECT_EQ(choose_route({0.30, 0.20, 0.15, 0}, kGflops, 0.1, -1, false).exit, 3);
}

TEST(Router, ThresholdZeroAlwaysTakesBackbone) {
  // Even a prediction of exactly 0 does not qualify: "below" is strict.
  EXPECT_EQ(choose_route({0, 0, 0, 0}, kGflops, 0.0, -1, false).exit, 3);
}

TEST(Router, CheapestByGflopsNotByIndex) {
  const std::vector<double> gflops{90, 50, 127, 213};
  EXPECT_EQ(choose_route({0.01, 0.02, 0.5, 0}, gflops, 0.1, -1, false).exit, 1);
}

TEST(Router, ForcedExitOverridesAndIsChecked) {
  auto c = choose_route({0.9, 0.9, 0.9, 0}, kGflops, 0.1, 0, false);
  EXPECT_EQ(c.exit, 0);
  EXPECT_TRUE(c.forced);
  EXPECT_THROW(choose_route({0, 0, 0, 0}, kGflops, 0.1, 4, false), fiancee::InputError);
}

TEST(Router, LateFrameTakesCheapestExit) {
  auto c = choose_route({0.9, 0.9, 0.9, 0}, kGflops, 0.0, -1, true);
  EXPECT_EQ(c.exit, 0);
  EXPECT_TRUE(c.late);
}

TEST(Router, RejectsMismatchedSizes) {
  EXPECT_THROW(choose_route({0, 0}, kGflops, 0.1, -1, false), fiancee::InputError);
}

// ---------------------------------------------------------------- latency budget

TEST(RouterBudget, KeepsTheQualityRouteWhenItFits) {
  EXPECT_EQ(fiancee::fit_budget(1, {0.2, 0.05, 0.03, 0}, kGflops, 0.1, {10, 15, 20, 30}, 16), 1);
}

TEST(RouterBudget, BestPredictedRouteThatFitsWhenTheQualityRouteDoesNot) {
  // The backbone is wanted (no branch qualifies) but only exits 0-1 fit: exit 1 is predicted better.
  EXPECT_EQ(fiancee::fit_budget(3, {0.3, 0.2, 0.15, 0}, kGflops, 0.1, {10, 15, 20, 30}, 16), 1);
}

TEST(RouterBudget, CheapestQualifyingRouteThatFitsBeforeAnyOther) {
  // Route times need not follow GFLOPs: exit 2 qualifies and fits although exit 1 does not fit.
  EXPECT_EQ(fiancee::fit_budget(1, {0.3, 0.05, 0.04, 0}, kGflops, 0.1, {10, 25, 15, 30}, 16), 2);
}

TEST(RouterBudget, FastestRouteWhenNothingFits) {
  EXPECT_EQ(fiancee::fit_budget(3, {0.3, 0.2, 0.15, 0}, kGflops, 0.1, {12, 15, 20, 30}, 5), 0);
}

TEST(RouterBudget, MismatchedTablesAreInputErrors) {
  EXPECT_THROW(fiancee::fit_budget(0, {0.1, 0}, kGflops, 0.1, {1, 2, 3, 4}, 5), fiancee::InputError);
  EXPECT_THROW(fiancee::fit_budget(0, {0.1, 0.1, 0.1, 0}, kGflops, 0.1, {1, 2}, 5), fiancee::InputError);
}
