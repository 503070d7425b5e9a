#include <gtest/gtest.h>

#include <torch/torch.h>

#include <cmath>
#include <cstdio>

#include "models/blocks.h"
#include "models/megaportraits.h"

namespace m = fiancee::models;

TEST(MegaPortraitsFront, TinyScaleShapesOfEveryOutput) {
  torch::manual_seed(0);
  const auto cfg = m::MegaPortraitsConfig::tiny();
  m::MegaPortraitsFront front(cfg);
  front->eval();
  torch::NoGradGuard no_grad;
  auto source = torch::rand({2, 3, 32, 32}) * 2 - 1;
  auto driver = torch::rand({2, 3, 32, 32}) * 2 - 1;

  auto motion = front->encode_motion(driver);
  EXPECT_EQ(motion.rotation.sizes(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(motion.translation.sizes(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(motion.expression.sizes(), (std::vector<int64_t>{2, cfg.expression_dim}));
  EXPECT_LE(motion.rotation.abs().max().item<double>(), M_PI / 2);

  auto s = front->encode_source(source);
  EXPECT_EQ(s.appearance.volume.sizes(), (std::vector<int64_t>{2, 4, 4, 8, 8}));
  EXPECT_EQ(s.appearance.descriptor.sizes(), (std::vector<int64_t>{2, cfg.descriptor_dim}));
  EXPECT_EQ(s.canonical.sizes(), (std::vector<int64_t>{2, 4, 4, 8, 8}));

  m::WarpGenerator w(cfg);
  auto delta = w(motion.expression, s.appearance.descriptor, 4, 8, 8);
  EXPECT_EQ(delta.sizes(), (std::vector<int64_t>{2, 4, 8, 8, 3}));
  EXPECT_EQ(delta.abs().max().item<float>(), 0.0f);  // last conv starts at zero
  EXPECT_EQ(w(motion.expression, s.appearance.descriptor, 3, 5, 6).sizes(), (std::vector<int64_t>{2, 3, 5, 6, 3}));

  auto out = front->drive(s, motion);
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, cfg.g2d_channels, 8, 8}));
  EXPECT_EQ(front->last_driver_volume.sizes(), (std::vector<int64_t>{2, 4, 4, 8, 8}));
  EXPECT_TRUE(torch::isfinite(out).all().item<bool>());

  // Both forwards: images only, and driver motion supplied by the key.
  EXPECT_EQ(front->forward(source, driver).sizes(), out.sizes());
  EXPECT_TRUE(torch::allclose(front->forward(source, motion), out, 1e-5, 1e-5));
}

TEST(MegaPortraitsWarp, IdentityRotationAndZeroDeformationReproduceTheVolume) {
  torch::manual_seed(1);
  auto v = torch::randn({2, 3, 5, 6, 7});
  auto zeros = torch::zeros({2, 3});
  auto grid = m::identity_grid(5, 6, 7, v.options());
  EXPECT_EQ(grid.sizes(), (std::vector<int64_t>{5, 6, 7, 3}));
  auto no_deform = torch::zeros({2, 5, 6, 7, 3});
  for (bool inverse : {false, true}) {
    auto g = m::warp_grid(zeros, zeros, inverse, 5, 6, 7, no_deform);
    auto out = m::warp_volume(v, g);
    EXPECT_LT((out - v).abs().max().item<float>(), 1e-5f);
  }
}

TEST(MegaPortraitsWarp, Yaw90DegreesPermutesTheVolume) {
  torch::manual_seed(2);
  const int64_t n = 4, h = 3;  // cube in x and z so voxel centres map onto voxel centres
  auto v = torch::randn({1, 2, n, h, n});
  auto angles = torch::tensor({{static_cast<float>(M_PI / 2), 0.0f, 0.0f}});
  auto r = m::rotation_matrix(angles);
  // Ry(90): x' = z, z' = -x.
  EXPECT_NEAR(r[0][0][2].item<float>(), 1.0f, 1e-6);
  EXPECT_NEAR(r[0][2][0].item<float>(), -1.0f, 1e-6);
  auto out = m::warp_volume(v, m::warp_grid(angles, torch::zeros({1, 3}), false, n, h, n));
  // Sampling at (x', y, z') = (z, y, -x): out[d, y, w] = in[n - 1 - w, y, d].
  const int64_t d = 0, y = 1, w = 1;
  EXPECT_NEAR(out[0][1][d][y][w].item<float>(), v[0][1][n - 1 - w][y][d].item<float>(), 1e-5);
  EXPECT_GT((out[0][1][d][y][w] - v[0][1][d][y][w]).abs().item<float>(), 1e-3);  // it did move
  // And the whole volume: flip depth, swap depth and width.
  EXPECT_LT((out - v.flip({2}).transpose(2, 4)).abs().max().item<float>(), 1e-5f);
}

TEST(MegaPortraitsWarp, SourceToCanonicalThenCanonicalToSameDriverIsIdentity) {
  torch::manual_seed(3);
  auto v = torch::randn({1, 2, 4, 4, 4});
  auto angles = torch::tensor({{static_cast<float>(M_PI / 2), 0.0f, 0.0f}});
  auto t = torch::zeros({1, 3});
  auto vc = m::warp_volume(v, m::warp_grid(angles, t, false, 4, 4, 4));
  auto vd = m::warp_volume(vc, m::warp_grid(angles, t, true, 4, 4, 4));
  EXPECT_GT((vc - v).abs().max().item<float>(), 1e-3f);
  EXPECT_LT((vd - v).abs().max().item<float>(), 1e-5f);
}

TEST(MegaPortraitsMacs, OneConv3dLayerMatchesTheHandFormula) {
  EXPECT_EQ(m::conv3d_macs(96, 96, 3, 16, 64, 64), int64_t{96} * 96 * 27 * 16 * 64 * 64);
  // A real Conv3d: MACs = weight elements x output voxels.
  torch::nn::Conv3d conv(torch::nn::Conv3dOptions(5, 7, 3).padding(1));
  auto y = conv(torch::zeros({1, 5, 4, 6, 8}));
  EXPECT_EQ(m::conv3d_macs(5, 7, 3, y.size(2), y.size(3), y.size(4)), conv->weight.numel() * y.size(2) * y.size(3) * y.size(4));
  // ResBlock3D: two 3x3x3 convs at the upsampled size, plus the 1x1x1 skip when widths differ.
  m::ResBlock3D up(16, 8, true), same(8, 8, false);
  EXPECT_EQ(up->macs(2, 4, 4), m::conv3d_macs(16, 8, 3, 4, 8, 8) + m::conv3d_macs(8, 8, 3, 4, 8, 8) +
                                   m::conv3d_macs(16, 8, 1, 4, 8, 8));
  EXPECT_EQ(same->macs(4, 8, 8), 2 * m::conv3d_macs(8, 8, 3, 4, 8, 8));
}

TEST(MegaPortraitsMacs, PartsAddUpAtPaperScale) {
  const auto cfg = m::MegaPortraitsConfig::paper();
  EXPECT_EQ(cfg.volume_size(512), 64);
  EXPECT_EQ(cfg.lift_channels(), 1536);
  const auto macs = m::megaportraits_macs(cfg, 512, 512);
  EXPECT_EQ(macs.projection, m::conv_macs(1536, 512, 1, 64, 64));
  EXPECT_EQ(macs.g3d, cfg.g3d_blocks * 2 * m::conv3d_macs(96, 96, 3, 16, 64, 64));
  EXPECT_EQ(macs.total(), macs.appearance + 2 * macs.motion + macs.warp_source + macs.warp_driver + macs.g3d +
                              macs.projection);
  const double g = m::megaportraits_front_gflops_paper();
  EXPECT_DOUBLE_EQ(g, macs.total() / 1e9);
  std::printf("paper-scale GFLOPs: E_app %.2f, E_mtn %.2f (x2), W %.2f (x2), G3D %.2f, projection %.2f, total %.2f, "
              "per frame with cached source %.2f\n",
              macs.appearance / 1e9, macs.motion / 1e9, macs.warp_source / 1e9, macs.g3d / 1e9, macs.projection / 1e9,
              g, macs.per_frame_cached() / 1e9);
  // The modules report the same counts as the free function (tiny scale).
  m::MegaPortraitsFront tiny(m::MegaPortraitsConfig::tiny());
  m::AppearanceEncoder app(m::MegaPortraitsConfig::tiny());
  EXPECT_EQ(tiny->macs(32, 32).total(), m::megaportraits_macs(m::MegaPortraitsConfig::tiny(), 32, 32).total());
  EXPECT_EQ(app->macs(32, 32), tiny->macs(32, 32).appearance);
}
