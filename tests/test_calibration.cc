// The calibrated router (core/calibration.h): the conformal margin keeps the
// miss rate at the target on new frames drawn like the calibration ones.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "core/calibration.h"
#include "core/errors.h"
#include "core/safetensors.h"

namespace fiancee {
namespace {

const std::vector<double> kGflops{1, 2, 4};  // two branches and the backbone

// Frames whose branches' true distances vary around 0.08 / 0.05 and whose
// predictor is off by `bias` on average and by noise of `spread` per frame.
Calibration frames(int n, double bias, double spread, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> level(0.0, 0.03), error(0.0, spread);
  Calibration c;
  for (int i = 0; i < n; ++i) {
    const double scene = level(rng);
    const double m0 = std::max(0.0, 0.08 + scene + error(rng)), m1 = std::max(0.0, 0.05 + scene / 2 + error(rng));
    c.measured.push_back({m0, m1, 0.0});
    c.predicted.push_back({std::max(0.0, m0 + bias + error(rng)), std::max(0.0, m1 + bias + error(rng)), 0.0});
  }
  return c;
}

TEST(Calibration, MarginHoldsTheTargetOnNewFrames) {
  // An optimistic predictor (0.02 below the truth): uncalibrated, far more misses than asked for.
  const auto cal = frames(1000, -0.02, 0.015, 1), fresh = frames(20000, -0.02, 0.015, 2);
  const double t = 0.09;
  ASSERT_GT(miss_rate(fresh, kGflops, t, 0.0), 0.15);
  for (double target : {0.05, 0.1}) {
    const double m = conformal_margin(cal, kGflops, t, target);
    EXPECT_GT(m, 0.0) << "an optimistic predictor needs a positive margin";
    EXPECT_LE((1000 * miss_rate(cal, kGflops, t, m) + 1) / 1001, target) << "the bound on the calibration frames";
    // On exchangeable new frames the realized rate sits at the target (finite-sample slack only).
    EXPECT_NEAR(miss_rate(fresh, kGflops, t, m), target, 0.02) << "target " << target;
  }
}

TEST(Calibration, CautiousPredictorGetsANegativeMarginAndRoutesCheaper) {
  const auto cal = frames(1000, +0.03, 0.01, 3), fresh = frames(20000, +0.03, 0.01, 4);
  const double t = 0.1, target = 0.05;
  const double m = conformal_margin(cal, kGflops, t, target);
  EXPECT_LT(m, 0.0);
  double cost_calibrated = 0, cost_plain = 0;
  for (const auto& p : fresh.predicted) {
    cost_calibrated += kGflops[calibrated_exit(p, kGflops, t, m)];
    cost_plain += kGflops[calibrated_exit(p, kGflops, t, 0.0)];
  }
  EXPECT_LT(cost_calibrated, 0.95 * cost_plain);
  EXPECT_NEAR(miss_rate(fresh, kGflops, t, m), target, 0.02);
}

TEST(Calibration, TooFewFramesForTheRateSendEveryFrameToTheBackbone) {
  // With 9 frames the bound (n R + 1) / (n + 1) >= 0.1 > 0.05 for every margin.
  const auto cal = frames(9, 0.0, 0.01, 5);
  const double m = conformal_margin(cal, kGflops, 0.1, 0.05);
  EXPECT_TRUE(std::isinf(m) && m > 0);
  EXPECT_EQ(calibrated_exit({0.0, 0.0, 0.0}, kGflops, 0.1, m), 2);
}

TEST(Calibration, ExitsThatNeverMissGetEveryFrameWhateverTheirPrediction) {
  Calibration cal;
  for (int i = 0; i < 100; ++i) cal.predicted.push_back({0.5, 0.4, 0.0}), cal.measured.push_back({0.01, 0.005, 0.0});
  const double m = conformal_margin(cal, kGflops, 0.1, 0.05);
  EXPECT_TRUE(std::isinf(m) && m < 0);
  EXPECT_EQ(calibrated_exit({0.9, 0.9, 0.0}, kGflops, 0.1, m), 0);
  EXPECT_EQ(miss_rate(cal, kGflops, 0.1, m), 0.0);
}

TEST(Calibration, BadRatesAndRouteTablesAreInputErrors) {
  const auto cal = frames(50, 0.0, 0.01, 6);
  EXPECT_THROW(conformal_margin(cal, kGflops, 0.1, 0.0), InputError);
  EXPECT_THROW(conformal_margin(cal, kGflops, 0.1, 1.0), InputError);
  EXPECT_THROW(conformal_margin(cal, {1, 2}, 0.1, 0.05), InputError);
}

TEST(Calibration, FileRoundTripAndStrictLoad) {
  const auto dir = std::filesystem::temp_directory_path() / "fiancee-test-calibration";
  std::filesystem::create_directories(dir);
  auto cal = frames(20, 0.0, 0.01, 7);
  cal.split = "test frames";
  const std::string path = (dir / "c.safetensors").string();
  cal.save(path);
  const auto back = Calibration::load(path, 3);
  EXPECT_EQ(back.frames(), 20);
  EXPECT_EQ(back.split, "test frames");
  EXPECT_DOUBLE_EQ(back.predicted[7][1], cal.predicted[7][1]);
  EXPECT_DOUBLE_EQ(back.measured[19][0], cal.measured[19][0]);
  // Another exit count, a NaN, a negative distance, a missing tensor: each names the file.
  EXPECT_THROW(Calibration::load(path, 4), PackageError);
  const auto bad = [&](torch::Tensor predicted) {
    safetensors::save(path, {{"predicted", predicted}, {"measured", torch::zeros({2, 3}, torch::kDouble)}});
    try {
      Calibration::load(path, 3);
      ADD_FAILURE() << "accepted";
    } catch (const PackageError& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  };
  bad(torch::full({2, 3}, std::nan(""), torch::kDouble));
  bad(torch::full({2, 3}, -0.5, torch::kDouble));
  bad(torch::zeros({2, 3}, torch::kFloat));
  safetensors::save(path, {{"predicted", torch::zeros({2, 3}, torch::kDouble)}});
  EXPECT_THROW(Calibration::load(path, 3), PackageError);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace fiancee
