// CREPS family: shapes of every exit, MAC accounting against hand formulas,
// config JSON, weights round trip, the engine with forced exits, and the
// property the architecture guarantees across output sizes.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "core/engine.h"
#include "core/errors.h"
#include "core/manifest.h"
#include "models/creps.h"

using fiancee::models::CrepsConfig;
using fiancee::models::CrepsGraph;

namespace {

// A second tiny scale: rank 3, two blocks, a key, no refinement in one branch set.
CrepsConfig tiny_b() {
  CrepsConfig c;
  c.z_dim = 8;
  c.w_dim = 12;
  c.mapping_layers = 1;
  c.block_channels = {6, 10};
  c.rank = 3;
  c.bandwidth = 1;
  c.biline_channels = 4;
  c.decoder_hidden = {8};
  c.refine_channels = {8};
  c.height = 6;
  c.width = 10;
  c.key_dim = 2;
  c.predictor_hidden = {};
  c.min_channels = 2;
  c.attach_points = {1, 2, 2};
  c.add_scale_factor("1/2");
  c.branches.push_back({"1/4", {{{}, {}}, {{2}, {}}, {{2, 2}, {2}}}});
  return c;
}

int64_t state_size(const CrepsConfig& c, int64_t h, int64_t w, int blocks) {
  const int64_t line = (h + w) * c.rank;
  const int64_t width = c.block_channels[blocks == 0 ? 0 : blocks - 1];
  return 2 + c.w_dim + line * width + (blocks > 0 ? line * c.biline_channels + h * w * c.biline_channels : 0);
}

void expect_all_exits(CrepsGraph& g, int64_t n, int64_t h, int64_t w) {
  torch::NoGradGuard no_grad;
  g.eval();
  const auto& c = g.config();
  g.set_output_size(h, w);
  torch::manual_seed(9);
  auto x = g.front(torch::randn({n, c.z_dim, 1, 1}));
  EXPECT_EQ(x.sizes().vec(), (std::vector<int64_t>{n, state_size(c, h, w, 0)}));
  std::vector<torch::Tensor> after{x};
  for (int k = 1; k <= g.num_stages(); ++k) {
    after.push_back(g.stage(k, after.back()));
    EXPECT_EQ(after.back().sizes().vec(), (std::vector<int64_t>{n, state_size(c, h, w, k)})) << "stage " << k;
  }
  const std::vector<int64_t> image{n, c.out_channels, h, w};
  EXPECT_EQ(g.head(after.back()).sizes().vec(), image);
  auto key = c.key_dim > 0 ? torch::randn({n, c.key_dim}) : torch::Tensor();
  for (const auto& sf : g.scale_factors()) {
    for (int b = 0; b < g.num_branches(); ++b) {
      auto img = g.branch(sf, b, after[g.attach_point(b)], {});
      EXPECT_EQ(img.sizes().vec(), image) << sf << " branch " << b;
      EXPECT_TRUE(torch::isfinite(img).all().item<bool>());
    }
    EXPECT_EQ(g.predict(sf, x, key).sizes().vec(), (std::vector<int64_t>{n, g.num_branches()}));
  }
}

}  // namespace

TEST(CrepsShapes, EveryExitAtTwoTinyScales) {
  CrepsGraph a(CrepsConfig::tiny());
  expect_all_exits(a, 2, 16, 16);
  expect_all_exits(a, 1, 12, 20);  // not square
  CrepsGraph b(tiny_b());
  expect_all_exits(b, 3, 6, 10);
  expect_all_exits(b, 1, 1, 1);
}

TEST(CrepsShapes, RefusesAStateOfAnotherStage) {
  CrepsGraph g(CrepsConfig::tiny());
  auto x = g.front(torch::randn({1, 16}));
  EXPECT_THROW(g.stage(2, x), fiancee::InputError);
  EXPECT_THROW(g.head(x), fiancee::InputError);
  EXPECT_THROW(g.front(torch::randn({1, 15})), fiancee::InputError);
}

// MACs against numbers worked out by hand (not by the code under test).
TEST(CrepsMacs, OneBlockMatchesHandFormula) {
  // Tiny model at 16x16: the two first branches are identical renderers after blocks 1 and 2, so their
  // difference is block 2: lines are (16 + 16) positions x rank 2 = 64 entries, w_dim 16, 256 pixels.
  //   fc0 16->16: 16*16 (style) + 16*16*64 = 16640;  fc1 16->16: 16640;  to-residual 16->8: 16*16 + 16*8*64 = 8448
  //   fusion: 8 channels * 16*16 pixels * rank 2 = 4096;  decoder 8-16-32-16-8: (128+512+512+128) * 256 = 327680
  CrepsGraph tiny(CrepsConfig::tiny());
  auto r = tiny.route_gflops("1/2", 16, 16);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_NEAR(r[1] - r[0], (16640 + 16640 + 8448 + 4096 + 327680) * 1e-9, 1e-12);

  // Paper model at 512x512: branches after blocks 2 and 4 differ by blocks 3 and 4, each 1024->1024 on
  // (512+512)*8 = 8192 line entries: 2 * (512*1024 + 1024*1024*8192) + 512*1024 + 1024*32*8192,
  // fusion 32*512*512*8, decoder 32-64-128-64-32 = 20480 MACs per pixel * 262144.
  CrepsGraph paper(CrepsConfig::paper({"1/2"}));
  auto p = paper.route_gflops("1/2", 512, 512);
  const double block = 2 * (512.0 * 1024 + 1024.0 * 1024 * 8192) + 512.0 * 1024 + 1024.0 * 32 * 8192 + 32.0 * 512 * 512 * 8 + 20480.0 * 262144;
  EXPECT_NEAR(p[1] - p[0], 2 * block * 1e-9, 1e-9);

  // Costs grow with the output size; every route is cheaper than the backbone.
  auto small = paper.route_gflops("1/2", 256, 256);
  for (size_t e = 0; e < p.size(); ++e) EXPECT_LT(small[e], p[e]);
  for (size_t e = 1; e < p.size(); ++e) EXPECT_LT(p[e - 1], p[e]);
}

TEST(CrepsConfig, JsonRoundTrip) {
  for (const auto& c : {CrepsConfig::paper(), CrepsConfig::tiny(), tiny_b()}) {
    const auto j = c.to_json();
    const auto back = CrepsConfig::from_json(nlohmann::json::parse(j.dump()), "m.json");
    EXPECT_EQ(back.to_json(), j);
    EXPECT_EQ(back.block_channels, c.block_channels);
    EXPECT_DOUBLE_EQ(back.bandwidth, c.bandwidth);
    ASSERT_EQ(back.branches.size(), c.branches.size());
    for (size_t i = 0; i < c.branches.size(); ++i)
      for (size_t b = 0; b < c.branches[i].second.size(); ++b) {
        EXPECT_EQ(back.branches[i].second[b].decoder_hidden, c.branches[i].second[b].decoder_hidden);
        EXPECT_EQ(back.branches[i].second[b].refine, c.branches[i].second[b].refine);
      }
  }
  EXPECT_EQ(CrepsConfig::paper().block_channels, (std::vector<int>{1024, 1024, 1024, 1024, 1024, 512, 256, 128}));
  EXPECT_EQ(CrepsConfig::paper({"1/4"}).branches[0].second[0].decoder_hidden, (std::vector<int>{16, 32, 16}));
}

TEST(CrepsConfig, JsonErrorsNameOriginAndField) {
  const auto good = CrepsConfig::tiny().to_json();
  const auto fails_with = [&](nlohmann::json j, const std::string& needle) {
    try {
      CrepsConfig::from_json(j, "pkg/manifest.json");
      ADD_FAILURE() << "accepted: " << needle;
    } catch (const fiancee::PackageError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("pkg/manifest.json"), std::string::npos) << msg;
      EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    }
  };
  auto j = good;
  j.erase("rank");
  fails_with(j, "architecture.rank");
  j = good;
  j["bandwidth"] = "wide";
  fails_with(j, "architecture.bandwidth");
  j = good;
  j["block_channels"] = nlohmann::json::array({7, 8});
  fails_with(j, "block_channels[0]");
  j = good;
  j["attach_points"] = nlohmann::json::array({0, 1, 2});
  fails_with(j, "attach_points[0]");
  j = good;
  j["branches"][0]["exits"][2]["refine"] = nlohmann::json::array({4, 0});
  fails_with(j, "branches[0].exits[2].refine");
  j = good;
  j["branches"][0]["exits"][0]["extra"] = 1;
  fails_with(j, "branches[0].exits[0].extra");
  j = good;
  j["branches"][0].erase("scale_factor");
  fails_with(j, "branches[0].scale_factor");
  j = good;
  j["heigth"] = 3;
  fails_with(j, "architecture.heigth");
}

TEST(CrepsState, WeightsRoundTrip) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(1);
  CrepsGraph a(CrepsConfig::tiny());
  torch::manual_seed(2);
  CrepsGraph b(CrepsConfig::tiny());
  auto z = torch::randn({2, 16});
  EXPECT_FALSE(torch::allclose(a.render(z, 8, 8), b.render(z, 8, 8)));
  b.load_backbone(a.backbone_state(), "a.safetensors");  // includes the Fourier frequencies (a buffer)
  b.load_branches("1/2", a.branch_state("1/2"), "a-branches.safetensors");
  EXPECT_TRUE(torch::equal(a.render(z, 8, 8), b.render(z, 8, 8)));
  auto xa = a.stage(1, a.front(z)), xb = b.stage(1, b.front(z));
  EXPECT_TRUE(torch::equal(a.branch("1/2", 0, xa, {}), b.branch("1/2", 0, xb, {})));
}

TEST(CrepsEngine, ForcedExitsGiveDifferentOutputs) {
  const auto cfg = CrepsConfig::tiny();
  auto graph = std::make_shared<CrepsGraph>(cfg);
  fiancee::Manifest m;
  m.name = "creps-tiny";
  m.untrained = true;
  m.pipeline = "synth";
  m.family = "creps";
  m.architecture = std::make_shared<const nlohmann::json>(cfg.to_json());
  m.input = {1, 1, cfg.z_dim, -1, 1};
  m.output = {cfg.width, cfg.height, 3, -1, 1};
  m.metric = "1-ms-ssim";
  m.scale_factors.push_back({"1/2", "", graph->route_gflops("1/2", cfg.height, cfg.width), ""});
  m.default_scale_factor = "1/2";
  fiancee::Engine engine(graph, m, nullptr, torch::kCPU);
  torch::manual_seed(4);
  auto z = torch::randn({3, cfg.z_dim, 1, 1});
  std::vector<torch::Tensor> images;
  std::vector<double> gflops;
  for (int e = 0; e < 4; ++e) {
    fiancee::RouteSettings s;
    s.forced_exit = e;
    auto out = engine.run(z, {}, s);
    ASSERT_EQ(out.images.sizes().vec(), (std::vector<int64_t>{3, 3, 16, 16}));
    images.push_back(out.images);
    gflops.push_back(out.reports[0].gflops);
    auto single = engine.run(z.slice(0, 2, 3), {}, s);
    EXPECT_TRUE(torch::allclose(single.images[0], out.images[2], 1e-4, 1e-5)) << "exit " << e;
  }
  for (int a = 0; a < 4; ++a)
    for (int b = a + 1; b < 4; ++b) {
      EXPECT_FALSE(torch::allclose(images[a], images[b])) << a << " vs " << b;
      EXPECT_LT(gflops[a], gflops[b]);
    }
}

// What the architecture guarantees: a pixel's value is a function of its
// continuous coordinates and the latent only (lines are sampled at the
// coordinates, every later layer is per position or per pixel). With pixel
// centres u = (i + 0.5) / n, pixel i of an n-pixel render and pixel 3i + 1 of
// a 3n-pixel render sit at the same coordinate, so they must be equal up to
// float rounding (different matrix sizes may sum in another order): we allow
// 1e-4 of the image's magnitude.
TEST(CrepsScale, SharedPixelCentresRenderIdentically) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(20);
  CrepsGraph g(CrepsConfig::tiny());
  g.eval();
  torch::manual_seed(21);
  auto z = torch::randn({2, 16});
  auto low = g.render(z, 8, 12);
  auto high = g.render(z, 24, 36);
  auto picked = high.slice(2, 1, 24, 3).slice(3, 1, 36, 3);
  ASSERT_EQ(picked.sizes(), low.sizes());
  const double scale = std::max(1.0, high.abs().max().item<double>());
  EXPECT_LE((picked - low).abs().max().item<double>(), 1e-4 * scale);
  // Every branch has the same property.
  auto xl = g.front_at(z, 8, 12), xh = g.front_at(z, 24, 36);
  for (int k = 1; k <= 2; ++k) xl = g.stage(k, xl), xh = g.stage(k, xh);
  auto bl = g.branch("1/2", 1, xl, {}), bh = g.branch("1/2", 1, xh, {});
  EXPECT_LE((bh.slice(2, 1, 24, 3).slice(3, 1, 36, 3) - bl).abs().max().item<double>(), 1e-4 * scale);
}

// 2x: the four pixels of a 64x64 render that cover one pixel of a 32x32 render
// sit at its centre +-(d, d), d = 1/128 of the image side. For a twice
// differentiable image their mean differs from the centre value by
// (d^2 / 2) (f_xx + f_yy) + O(d^4), and the 5-point Laplacian of a render with
// pixel pitch d (128x128) is d^2 (f_xx + f_yy) + O(d^4). So, pixel by pixel,
// |avgpool2(high) - low| <~ |Laplacian_128| / 2 around that pixel. LeakyReLU
// makes the image only piecewise smooth; across a kink of slope jump a both
// sides are about a*d, so each low-res pixel is allowed the full max of
// |Laplacian_128| over the 128-grid points of its own footprint and of its
// neighbours' (twice the smooth estimate, taken over a neighbourhood). The
// test has teeth: the mean tolerance must be small against the image's range,
// and the same comparison with another latent must fail at most pixels.
TEST(CrepsScale, LowResolutionMatchesAveragePooledHighResolution) {
  torch::NoGradGuard no_grad;
  // Fourier frequencies ~ N(0, 0.5) cycles per image side: random weights then give an image that is
  // smooth at the scale of a 32x32 pixel (a trained model's content is band-limited the same way
  // relative to the resolutions it is sampled at).
  auto cfg = CrepsConfig::tiny();
  cfg.bandwidth = 0.5;
  torch::manual_seed(20);
  CrepsGraph g(cfg);
  g.eval();
  torch::manual_seed(22);
  auto z = torch::randn({1, 16});
  auto low = g.render(z, 32, 32);
  auto high = g.render(z, 64, 64);
  auto fine = torch::replication_pad2d(g.render(z, 128, 128), {1, 1, 1, 1});  // borders: one-sided, larger: conservative
  auto c = fine.slice(2, 1, 129).slice(3, 1, 129);
  auto lap = (fine.slice(2, 0, 128).slice(3, 1, 129) + fine.slice(2, 2, 130).slice(3, 1, 129) + fine.slice(2, 1, 129).slice(3, 0, 128) +
              fine.slice(2, 1, 129).slice(3, 2, 130) - 4 * c).abs();
  // Max over each low-res pixel's 4x4 footprint on the 128 grid, then over its 3x3 neighbourhood.
  auto local = torch::max_pool2d(torch::max_pool2d(lap, {4, 4}, {4, 4}), {3, 3}, {1, 1}, {1, 1});
  const double eps = 1e-5 * std::max(1.0, high.abs().max().item<double>());
  auto tol = local + eps;
  const double range = (low.max() - low.min()).item<double>();
  auto err = (torch::avg_pool2d(high, {2, 2}) - low).abs();
  std::printf("[ info ] 32 vs avgpool(64): max error %.3g (mean %.3g); tolerance mean %.3g, max %.3g; image range %.3g\n",
              err.max().item<double>(), err.mean().item<double>(), tol.mean().item<double>(), tol.max().item<double>(), range);
  EXPECT_TRUE((err <= tol).all().item<bool>()) << "worst excess " << (err - tol).max().item<double>();
  EXPECT_LT(tol.mean().item<double>(), 0.05 * range) << "the image is too rough for the test to mean anything";
  auto other = (torch::avg_pool2d(g.render(torch::randn({1, 16}), 64, 64), {2, 2}) - low).abs();
  EXPECT_GT((other > tol).to(torch::kFloat).mean().item<double>(), 0.5);
}
