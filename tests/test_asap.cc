// ASAP-Net family: shapes of every exit, MAC accounting against hand
// formulas, the pixelwise MLP against a per-pixel reference, config JSON,
// weights round trip, and a tiny graph driven through the engine.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <cmath>

#include "core/engine.h"
#include "core/errors.h"
#include "core/manifest.h"
#include "models/asap.h"

using fiancee::models::AsapConfig;
using fiancee::models::AsapGraph;

namespace {

// One-hot label map [N, classes + extra, H, W] of random classes (extra channels random 0/1 edges).
torch::Tensor label_map(const AsapConfig& c, int64_t n, int64_t h, int64_t w, uint64_t seed = 3) {
  torch::manual_seed(seed);
  auto ids = torch::randint(c.num_classes, {n, h, w}, torch::kLong);
  auto onehot = torch::one_hot(ids, c.num_classes).permute({0, 3, 1, 2}).to(torch::kFloat);
  if (c.extra_lr_channels == 0) return onehot;
  return torch::cat({onehot, torch::randint(2, {n, c.extra_lr_channels, h, w}).to(torch::kFloat)}, 1);
}

// A second tiny scale exercising pre-downsampling, a guide, a key and attach point 0.
AsapConfig tiny_b() {
  AsapConfig c;
  c.num_classes = 3;
  c.extra_lr_channels = 0;
  c.input_downsample = 2;
  c.lr_channels = {6, 12};  // S = 2 * 2 = 4
  c.num_stages = 2;
  c.mlp_width = 6;
  c.mlp_hidden = 3;
  c.guide_channels = 2;
  c.key_dim = 4;
  c.predictor_grid = 1;
  c.predictor_hidden = {8, 8};
  c.min_adapter_channels = 3;
  c.min_mlp_channels = 2;
  c.attach_points = {0, 1, 2};
  c.branch_mlp_hidden = {1, 2, 2};
  c.add_scale_factor("1/3");
  c.add_scale_factor("1");
  return c;
}

void expect_all_exits(AsapGraph& g, const torch::Tensor& input, const torch::Tensor& guide, const torch::Tensor& key) {
  torch::NoGradGuard no_grad;
  g.eval();
  const auto& c = g.config();
  const int64_t n = input.size(0), h = input.size(2), w = input.size(3), s = c.downsampling();
  auto x = g.front(input);
  const std::vector<int64_t> state{n, c.lr_width() + c.num_classes * s * s, h / s, w / s};
  EXPECT_EQ(x.sizes().vec(), state);
  std::vector<torch::Tensor> after{x};
  for (int k = 1; k <= g.num_stages(); ++k) {
    after.push_back(g.stage(k, after.back()));
    EXPECT_EQ(after.back().sizes().vec(), state) << "stage " << k;
  }
  const std::vector<int64_t> image{n, c.out_channels, h, w};
  auto bb = g.head(after.back());
  EXPECT_EQ(bb.sizes().vec(), image);
  EXPECT_LE(bb.abs().max().item<double>(), 1.0);  // tanh output
  for (const auto& sf : g.scale_factors()) {
    for (int b = 0; b < g.num_branches(); ++b) {
      auto img = g.branch(sf, b, after[g.attach_point(b)], guide);
      EXPECT_EQ(img.sizes().vec(), image) << sf << " branch " << b;
      EXPECT_TRUE(torch::isfinite(img).all().item<bool>());
    }
    EXPECT_EQ(g.predict(sf, x, key).sizes().vec(), (std::vector<int64_t>{n, g.num_branches()}));
  }
}

}  // namespace

TEST(AsapShapes, EveryExitAtTwoTinyScales) {
  AsapGraph a(AsapConfig::tiny());
  EXPECT_EQ(a.config().downsampling(), 4);
  EXPECT_EQ(a.config().pe_channels(), 8);  // periods 4 and 2 pixels, cos/sin of x and y
  expect_all_exits(a, label_map(a.config(), 2, 16, 24), {}, {});
  expect_all_exits(a, label_map(a.config(), 1, 8, 8), {}, {});

  AsapGraph b(tiny_b());
  EXPECT_EQ(b.config().downsampling(), 4);
  torch::manual_seed(5);
  expect_all_exits(b, label_map(b.config(), 2, 8, 16), torch::rand({2, 2, 5, 7}), torch::randn({2, 4}));
  expect_all_exits(b, label_map(b.config(), 1, 16, 8), {}, {});  // no guide: zeros, no key: zeros
}

TEST(AsapShapes, RefusesSizesThatAreNotWholeCells) {
  AsapGraph g(AsapConfig::tiny());
  EXPECT_THROW(g.front(label_map(g.config(), 1, 10, 16)), fiancee::InputError);
  EXPECT_THROW(g.front(torch::zeros({1, 3, 16, 16})), fiancee::InputError);
}

// The batched per-cell MLP against a per-pixel evaluation written out from the
// supplement's definition: labels + cos/sin(2 pi x / f), f = S..2, then layers
// of (bias, weight) read from the 1x1 conv's output at the pixel's cell.
TEST(AsapPixelwise, MatchesPerPixelReference) {
  torch::NoGradGuard no_grad;
  auto c = AsapConfig::tiny();
  AsapGraph g(c);
  g.eval();
  auto input = label_map(c, 1, 8, 12, 11);
  auto x = g.front(input);
  for (int k = 1; k <= g.num_stages(); ++k) x = g.stage(k, x);
  auto out = g.head(x);

  torch::Tensor w1, b1;
  for (const auto& p : g.backbone_module().named_parameters()) {
    if (p.key() == "weights.weight") w1 = p.value();
    if (p.key() == "weights.bias") b1 = p.value();
  }
  ASSERT_TRUE(w1.defined() && b1.defined());
  const int s = c.downsampling();
  auto feats = x.narrow(1, 0, c.lr_width());
  for (auto [py, px] : {std::pair<int, int>{0, 0}, {3, 5}, {7, 11}, {5, 2}}) {
    auto params = torch::matmul(w1.flatten(1), feats[0].select(1, py / s).select(1, px / s)) + b1;  // [P]
    std::vector<float> v;
    for (int cl = 0; cl < c.num_classes; ++cl) v.push_back(input[0][cl][py][px].item<float>());
    for (int f = s; f > 1; f /= 2) {
      const double k = 2 * M_PI / f;
      v.push_back(std::cos(k * px));
      v.push_back(std::sin(k * px));
      v.push_back(std::cos(k * py));
      v.push_back(std::sin(k * py));
    }
    auto act = torch::tensor(v);
    std::vector<int> chans{c.mlp_in()};
    for (int i = 0; i < c.mlp_hidden; ++i) chans.push_back(c.mlp_width);
    chans.push_back(c.out_channels);
    int64_t off = 0;
    for (size_t l = 0; l + 1 < chans.size(); ++l) {
      auto bias = params.narrow(0, off, chans[l + 1]);
      off += chans[l + 1];
      auto weight = params.narrow(0, off, chans[l] * chans[l + 1]).reshape({chans[l], chans[l + 1]});
      off += chans[l] * chans[l + 1];
      act = torch::matmul(act, weight) + bias;
      act = l + 2 < chans.size() ? torch::leaky_relu(act, 0.01) : torch::tanh(act);
    }
    EXPECT_EQ(off, params.size(0));
    EXPECT_TRUE(torch::allclose(out[0].select(1, py).select(1, px), act, 1e-4, 1e-5)) << "pixel " << py << "," << px;
  }
}

// MACs against numbers worked out by hand (not by the code under test).
TEST(AsapMacs, OneLayerAndPaperTotalMatchHandFormulas) {
  const auto paper = AsapConfig::paper({"1/2"});
  // Supplement 1.3: C_total = sum over layers of C_n * C_{n-1} + C_n, input 35 labels + 16 positional channels:
  // 51*64+64 + 3*(64*64+64) + 64*3+3 = 3328 + 12480 + 195.
  EXPECT_EQ(paper.mlp_params(64, 4), 16003);
  EXPECT_EQ(paper.mlp_macs_per_pixel(64, 4), 51 * 64 + 3 * 64 * 64 + 64 * 3);

  // (Paper-sized graphs allocate their weights: build each once.)
  const auto routes = AsapGraph(paper).route_gflops("1/2", 256, 512);
  ASSERT_EQ(routes.size(), 4u);

  // One C1024S1 layer at the 16x32 grid of a 256x512 map: 1024 * 1024 * 3 * 3 * 16 * 32.
  auto fewer = paper;
  fewer.num_stages = 6;
  EXPECT_NEAR(routes.back() - AsapGraph(fewer).route_gflops("1/2", 256, 512).back(), 4831838208e-9, 1e-9);

  // One fc64 layer less: 64*64 MACs per pixel * 256*512, and 1024 * (64*64 + 64) * 16*32 in the 1x1 conv.
  auto shallower = paper;
  shallower.mlp_hidden = 3;
  EXPECT_NEAR(routes.back() - AsapGraph(shallower).route_gflops("1/2", 256, 512).back(), (536870912.0 + 2181038080.0) * 1e-9, 1e-9);

  // The whole backbone: C64S1 36->64 at 256x512 (2717908992), C64S2 at 128x256 (1207959552), 64x128 (301989888),
  // 32x64 (75497472), C1024S2 64->1024 at 16x32 (301989888), 7 x 4831838208, 1x1 1024->16003 at 16x32 (8390180864),
  // MLP 15744 MACs x 131072 pixels (2063597568).
  const double total = 2717908992.0 + 1207959552.0 + 301989888.0 + 75497472.0 + 301989888.0 + 7 * 4831838208.0 + 8390180864.0 + 2063597568.0;
  EXPECT_NEAR(routes.back(), total * 1e-9, 1e-9);

  // Branches are cheaper than the backbone and ordered by attach point.
  for (size_t e = 1; e < routes.size(); ++e) EXPECT_LT(routes[e - 1], routes[e]);
}

TEST(AsapConfig, JsonRoundTrip) {
  for (const auto& c : {AsapConfig::paper(), AsapConfig::paper_as_listed(), AsapConfig::tiny(), tiny_b()}) {
    const auto j = c.to_json();
    const auto back = AsapConfig::from_json(nlohmann::json::parse(j.dump()), "m.json");
    EXPECT_EQ(back.to_json(), j);
    EXPECT_EQ(back.downsampling(), c.downsampling());
    ASSERT_EQ(back.branches.size(), c.branches.size());
    for (size_t i = 0; i < c.branches.size(); ++i) {
      EXPECT_EQ(back.branches[i].first, c.branches[i].first);
      for (size_t b = 0; b < c.branches[i].second.size(); ++b) {
        EXPECT_EQ(back.branches[i].second[b].adapter, c.branches[i].second[b].adapter);
        EXPECT_EQ(back.branches[i].second[b].mlp_width, c.branches[i].second[b].mlp_width);
        EXPECT_EQ(back.branches[i].second[b].mlp_hidden, c.branches[i].second[b].mlp_hidden);
      }
    }
  }
  const auto half = AsapConfig::paper({"1/2"}).branches[0].second;
  EXPECT_EQ(half[0].adapter, 512);
  EXPECT_EQ(half[0].mlp_width, 32);
  EXPECT_EQ(half[0].mlp_hidden, 2);
}

TEST(AsapConfig, JsonErrorsNameOriginAndField) {
  const auto good = AsapConfig::tiny().to_json();
  const auto fails_with = [&](nlohmann::json j, const std::string& needle) {
    try {
      AsapConfig::from_json(j, "pkg/manifest.json");
      ADD_FAILURE() << "accepted: " << needle;
    } catch (const fiancee::PackageError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("pkg/manifest.json"), std::string::npos) << msg;
      EXPECT_NE(msg.find(needle), std::string::npos) << msg;
    }
  };
  auto j = good;
  j.erase("num_stages");
  fails_with(j, "architecture.num_stages");
  j = good;
  j["mlp_width"] = "64";
  fails_with(j, "architecture.mlp_width");
  j = good;
  j["lr_channels"] = nlohmann::json::array({8, -1});
  fails_with(j, "architecture.lr_channels");
  j = good;
  j["mlp_widht"] = 3;
  fails_with(j, "architecture.mlp_widht");
  j = good;
  j["input_downsample"] = 3;
  fails_with(j, "input_downsample");
  j = good;
  j["attach_points"] = nlohmann::json::array({1, 2, 9});
  fails_with(j, "attach_points[2]");
  j = good;
  j["branches"][0]["exits"].erase(0);
  fails_with(j, "field 'architecture.branches[0].exits' must hold 3 entries (one per attach point), found 2");
  j = good;
  j["branches"][0]["exits"][1].erase("adapter");
  fails_with(j, "branches[0].exits[1].adapter");
  j = good;
  j["branches"][0]["scale_factor"] = "two";
  fails_with(j, "two");
  j = good;
  j["branches"].push_back(j["branches"][0]);
  fails_with(j, "field 'architecture.branches[1].scale_factor' repeats scale factor 1/2");
  j = good;
  j["family"] = "g2d";
  fails_with(j, "architecture.family");
}

TEST(AsapState, WeightsRoundTrip) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(1);
  AsapGraph a(AsapConfig::tiny());
  torch::manual_seed(2);
  AsapGraph b(AsapConfig::tiny());
  auto input = label_map(a.config(), 1, 8, 8);
  a.eval();
  b.eval();
  EXPECT_FALSE(torch::allclose(a.branch("1/2", 0, a.stage(1, a.front(input)), {}), b.branch("1/2", 0, b.stage(1, b.front(input)), {})));
  b.load_backbone(a.backbone_state(), "a.safetensors");
  b.load_branches("1/2", a.branch_state("1/2"), "a-branches.safetensors");
  auto xa = a.front(input), xb = b.front(input);
  for (int k = 1; k <= a.num_stages(); ++k) xa = a.stage(k, xa), xb = b.stage(k, xb);
  EXPECT_TRUE(torch::equal(a.head(xa), b.head(xb)));
  EXPECT_TRUE(torch::equal(a.predict("1/2", a.front(input), {}), b.predict("1/2", b.front(input), {})));
  EXPECT_THROW(b.load_backbone(a.branch_state("1/2"), "wrong.safetensors"), fiancee::PackageError);
}

TEST(AsapEngine, ForcedExitsGiveDifferentOutputs) {
  const auto cfg = AsapConfig::tiny();
  auto graph = std::make_shared<AsapGraph>(cfg);
  fiancee::Manifest m;
  m.name = "asap-tiny";
  m.untrained = true;
  m.pipeline = "synth";
  m.family = "asap";
  m.architecture = std::make_shared<const nlohmann::json>(cfg.to_json());
  m.input = {24, 16, cfg.input_channels(), 0, 1};
  m.output = {24, 16, 3, -1, 1};
  m.metric = "1-ms-ssim";
  m.scale_factors.push_back({"1/2", "", graph->route_gflops("1/2", 16, 24), ""});
  m.default_scale_factor = "1/2";
  fiancee::Engine engine(graph, m, nullptr, torch::kCPU);
  auto input = label_map(cfg, 3, 16, 24);

  std::vector<torch::Tensor> images;
  std::vector<double> gflops;
  for (int e = 0; e < 4; ++e) {
    fiancee::RouteSettings s;
    s.forced_exit = e;
    auto out = engine.run(input, {}, s);
    ASSERT_EQ(out.images.sizes().vec(), (std::vector<int64_t>{3, 3, 16, 24}));
    for (const auto& r : out.reports) EXPECT_EQ(r.exit, e);
    images.push_back(out.images);
    gflops.push_back(out.reports[0].gflops);
    // The same frame alone takes the same route to the same image.
    auto single = engine.run(input.slice(0, 1, 2), {}, s);
    EXPECT_TRUE(torch::allclose(single.images[0], out.images[1], 1e-4, 1e-4)) << "exit " << e << " max diff " << (single.images[0] - out.images[1]).abs().max().item<double>() << " vs row0 " << (single.images[0] - out.images[0]).abs().max().item<double>();
  }
  for (int a = 0; a < 4; ++a)
    for (int b = a + 1; b < 4; ++b) {
      EXPECT_FALSE(torch::allclose(images[a], images[b])) << a << " vs " << b;
      EXPECT_LT(gflops[a], gflops[b]);
    }
  // The predictor routes without a forced exit.
  fiancee::RouteSettings free;
  free.quality_threshold = 0.0;
  for (const auto& r : engine.run(input, {}, free).reports) EXPECT_EQ(r.exit, 3);
}
