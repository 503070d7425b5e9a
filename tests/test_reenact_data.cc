// Training batches of the reenactment refiner: the mouth and eye boxes that
// train-backbone --part-loss-weight weighs more in the L1 loss.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "datasets/reenact_data.h"
#include "training/losses.h"

using namespace fiancee;

TEST(ReenactData, PartsMaskMarksTheDriversMouthAndEyes) {
  reenact::ProceduralHeads heads(96, 4, 7);
  const auto pairs = heads.pairs(2, 0);
  const auto b = reenact::make_batch(pairs, 0.f, 0);
  ASSERT_EQ(b.parts.sizes(), (std::vector<int64_t>{2, 1, 96, 96}));
  for (int i = 0; i < 2; ++i) {
    const auto& lm = pairs[size_t(i)].driver_landmarks;
    const auto w = b.parts[i][0];
    const auto mouth = reenact::mouth_box(lm, 96);
    ASSERT_FALSE(mouth.empty());
    const cv::Point c = (mouth.tl() + mouth.br()) / 2;
    EXPECT_FLOAT_EQ(w[c.y][c.x].item<float>(), 1.f);
    EXPECT_FLOAT_EQ(w[0][0].item<float>(), 0.f);  // a corner of the crop: background
    // A 0/1 mask.
    const auto parts = w.eq(1.f), rest = w.eq(0.f);
    EXPECT_TRUE(parts.logical_or(rest).all().item<bool>());
    EXPECT_GT(parts.sum().item<int64_t>(), 0);
  }
}

TEST(Losses, WeightedL1IsL1ForUniformWeightsAndFollowsTheWeight) {
  torch::manual_seed(3);
  const auto a = torch::rand({2, 3, 8, 8}), b = torch::rand({2, 3, 8, 8});
  EXPECT_NEAR(losses::l1(a, b, torch::full({2, 1, 8, 8}, 3.f)).item<double>(), losses::l1(a, b).item<double>(), 1e-6);
  EXPECT_NEAR(losses::l1(a, b, torch::Tensor()).item<double>(), losses::l1(a, b).item<double>(), 1e-9);
  // An error only where the weight is high costs more than the same error where it is low.
  auto w = torch::ones({1, 1, 8, 8});
  w.slice(2, 0, 4).fill_(9.f);
  auto where_heavy = torch::zeros({1, 3, 8, 8}), where_light = torch::zeros({1, 3, 8, 8});
  where_heavy.slice(2, 0, 4).fill_(1.f);
  where_light.slice(2, 4, 8).fill_(1.f);
  const auto zero = torch::zeros({1, 3, 8, 8});
  EXPECT_NEAR(losses::l1(where_heavy, zero, w).item<double>(), 0.9, 1e-6);  // 9 x 0.5 / 5
  EXPECT_NEAR(losses::l1(where_light, zero, w).item<double>(), 0.1, 1e-6);  // 1 x 0.5 / 5
}
