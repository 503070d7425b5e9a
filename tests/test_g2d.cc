#include <gtest/gtest.h>

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "models/blocks.h"
#include "models/g2d.h"

using fiancee::models::G2DConfig;
using fiancee::models::G2DGraph;

namespace {

G2DConfig tiny(int c, bool guide) {
  G2DConfig cfg;
  cfg.input_channels = 6;
  cfg.front_channels = {c, 2 * c};
  const int widths[9] = {2 * c, 2 * c, 2 * c, 2 * c, 2 * c, 2 * c, c, c, c};
  int in = 2 * c;
  for (int k = 0; k < 9; ++k) {
    cfg.stages.push_back({in, widths[k], k == 6});
    in = widths[k];
  }
  cfg.attach_points = {2, 4, 6};
  cfg.guide_channels = guide ? 3 : 0;
  cfg.key_dim = 5;
  cfg.predictor_hidden = {16};
  cfg.min_channels = 4;
  cfg.add_scale_factor("1/2");
  cfg.add_scale_factor("1/4");
  return cfg;
}

}  // namespace

TEST(G2D, EveryExitRendersFullSizeImagesAtTwoScales) {
  for (int c : {8, 16}) {
    G2DGraph g(tiny(c, true));
    g.eval();
    torch::NoGradGuard no_grad;
    auto x = g.front(torch::randn({2, 6, 24, 24}));
    EXPECT_EQ(x.sizes(), (std::vector<int64_t>{2, 2 * c, 12, 12}));
    auto guide = torch::rand({2, 3, 24, 24});
    std::vector<torch::Tensor> levels{x};
    for (int k = 1; k <= g.num_stages(); ++k) levels.push_back(g.stage(k, levels.back()));
    EXPECT_EQ(g.head(levels.back()).sizes(), (std::vector<int64_t>{2, 3, 24, 24}));
    for (const auto& sf : {"1/2", "1/4"})
      for (int b = 0; b < g.num_branches(); ++b) {
        auto img = g.branch(sf, b, levels[g.attach_point(b)], guide);
        EXPECT_EQ(img.sizes(), (std::vector<int64_t>{2, 3, 24, 24})) << sf << " branch " << b;
        EXPECT_LE(img.abs().max().item<float>(), 1.0f);
      }
    EXPECT_EQ(g.predict("1/4", x, torch::rand({2, 5})).sizes(), (std::vector<int64_t>{2, 3}));
  }
}

TEST(G2D, ResBlockMacsMatchHandCount) {
  // Independent count for one paper block: 512->256 after upsampling 64->128:
  // conv3x3 512->256, conv3x3 256->256, conv1x1 512->256, each over 128*128 outputs.
  const int64_t px = 128 * 128;
  const int64_t hand = px * (512 * 256 * 9 + 256 * 256 * 9 + 512 * 256);
  EXPECT_EQ(fiancee::models::resblock_macs(512, 256, true, 64, 64), hand);
  // And the module's count agrees with torch's own output size for that block.
  fiancee::models::ResBlock2D block(8, 4, true);
  auto y = block->forward(torch::randn({1, 8, 5, 7}));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{1, 4, 10, 14}));
  EXPECT_EQ(block->macs(5, 7), 10 * 14 * (8 * 4 * 9 + 4 * 4 * 9 + 8 * 4));
}

TEST(G2D, RouteGflopsSumTheBlocksOfEachRoute) {
  auto cfg = tiny(8, false);
  G2DGraph g(cfg);
  const auto routes = g.route_gflops("1/2", 24, 24);
  ASSERT_EQ(routes.size(), 4u);
  // Hand count of the backbone: front convs, nine blocks, head.
  int64_t macs = 24 * 24 * 6 * 8 * 9 + 12 * 12 * 8 * 16 * 9;
  for (int k = 0; k < 9; ++k) {
    const auto& s = cfg.stages[k];
    const int64_t side = k >= 6 ? 24 : 12;
    macs += side * side * (s.in * s.out * 9 + s.out * s.out * 9 + s.in * s.out);
  }
  macs += 24 * 24 * cfg.stages[8].out * 3 * 9;
  EXPECT_DOUBLE_EQ(routes.back(), static_cast<double>(macs) / 1e9);
  for (size_t e = 1; e < routes.size(); ++e) EXPECT_LT(routes[e - 1], routes[e]);
}

TEST(G2D, PaperConfigHasTableS9Widths) {
  auto cfg = G2DConfig::paper({"1/8"}, true);
  ASSERT_EQ(cfg.branches.size(), 1u);
  const auto& set = cfg.branches[0].second;
  ASSERT_EQ(set.size(), 3u);
  EXPECT_EQ(set[0].size(), 7u);
  EXPECT_EQ(set[1].size(), 5u);
  EXPECT_EQ(set[2].size(), 3u);
  const std::vector<int> s9_branch1{64, 64, 64, 64, 32, 24, 24};
  for (size_t j = 0; j < s9_branch1.size(); ++j) EXPECT_EQ(set[0][j].out, s9_branch1[j]);
  EXPECT_EQ(set[0][0].in, 512);
  EXPECT_THROW(G2DConfig::paper({"1/5"}, true), fiancee::InputError);
}

TEST(G2D, PaperBackboneIsWithinTwoPercentOfTable2) {
  // Table 2 gives 213 GFLOPs for the nine-block backbone at 512x512.
  G2DGraph g(G2DConfig::paper({"1/15"}, true));
  const auto routes = g.route_gflops("1/15", 64, 64);
  EXPECT_NEAR(routes.back(), 213.0, 213.0 * 0.02);
  EXPECT_NEAR(routes[0], 47.0, 47.0 * 0.05);  // cheapest exit, SF 1/15
}

TEST(G2D, ConfigJsonRoundTripAndStrictParsing) {
  auto cfg = tiny(8, true);
  const auto j = cfg.to_json();
  EXPECT_EQ(G2DConfig::from_json(j, "test").to_json(), j);
  auto bad = j;
  bad["stages"][3][0] = 99;
  EXPECT_THROW(G2DConfig::from_json(bad, "test"), fiancee::PackageError);
  bad = j;
  bad["branches"]["1/2"][0][0][0] = 7;
  EXPECT_THROW(G2DConfig::from_json(bad, "test"), fiancee::PackageError);
}

TEST(G2D, RefinerCorrectionIsScaledAddedToTheWarpAndClamped) {
  auto cfg = tiny(8, false);
  cfg.residual_channels = 3;
  cfg.residual_scale = 2.0;
  G2DGraph g(cfg);
  auto input = torch::zeros({1, 6, 4, 4});
  input.slice(1, 0, 3).fill_(0.5);
  const auto out = g.finish(torch::full({1, 3, 4, 4}, -0.5), input);
  EXPECT_TRUE(torch::allclose(out, torch::full({1, 3, 4, 4}, -0.5)));  // 0.5 + 2 x (-0.5)
  EXPECT_TRUE(torch::allclose(g.finish(torch::full({1, 3, 4, 4}, 0.9), input), torch::ones({1, 3, 4, 4})));
  // The field round-trips; absent means 1 (packages made before it existed).
  const auto j = cfg.to_json();
  EXPECT_DOUBLE_EQ(G2DConfig::from_json(j, "test").residual_scale, 2.0);
  auto old = j;
  old.erase("residual_scale");
  EXPECT_DOUBLE_EQ(G2DConfig::from_json(old, "test").residual_scale, 1.0);
  for (double bad : {0.0, -1.0, 5.0}) {
    auto b = j;
    b["residual_scale"] = bad;
    EXPECT_THROW(G2DConfig::from_json(b, "test"), fiancee::PackageError) << bad;
  }
  auto no_residual = j;
  no_residual.erase("residual_channels");
  EXPECT_THROW(G2DConfig::from_json(no_residual, "test"), fiancee::PackageError);
}
