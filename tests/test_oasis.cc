// OASIS generator as an early-exit graph: shapes, MACs against hand formulas
// and against the modules' own conv weights, config JSON, the engine driving
// a tiny graph, strict weight loading, the discriminator.
#include <gtest/gtest.h>

#include <torch/nn/module.h>
#include <torch/types.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "core/engine.h"
#include "core/errors.h"
#include "core/guide_db.h"
#include "core/manifest.h"
#include "models/oasis.h"
#include "tests/fixtures.h"

using fiancee::models::OasisConfig;
using fiancee::models::OasisGraph;
using fiancee::testing::error_of;

namespace {

const std::vector<std::string> kAllSf = {"1/2", "1/3", "1/4"};

torch::Tensor random_input(const OasisConfig& c, int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  // Blocky label maps (so the nearest downsampling sees several classes) plus per-frame noise.
  auto coarse = torch::randint(0, c.num_classes, {n, c.height / 8, c.width / 8}, torch::kLong);
  auto labels = coarse.repeat_interleave(8, 1).repeat_interleave(8, 2);
  return fiancee::models::oasis_input(labels, torch::randn({n, c.z_dim}), c.num_classes);
}

int64_t count(const torch::nn::Module& m, const std::string& prefix = "") {
  int64_t n = 0;
  for (const auto& p : m.named_parameters())
    if (p.key().rfind(prefix, 0) == 0) n += p.value().numel();
  return n;
}

// Independent MAC count: every conv weight's numel (out*in*k*k) times the pixels it produces,
// with the resolution read off the weight's name.
int64_t block_pixels(const OasisConfig& c, int block) {  // block 1..6
  return (int64_t{c.start_height()} << (block - 1)) * (int64_t{c.start_width()} << (block - 1));
}

int64_t index_after(const std::string& name, const std::string& prefix) {
  return std::stoll(name.substr(prefix.size(), name.find('.', prefix.size()) - prefix.size()));
}

int64_t backbone_macs_from_weights(const OasisGraph& g) {
  const auto& c = g.config();
  int64_t macs = 0;
  for (const auto& [name, t] : g.backbone_state()) {
    if (t.dim() != 4) continue;
    if (name == "fc.weight") macs += t.numel() * block_pixels(c, 1);
    else if (name == "conv_img.weight") macs += t.numel() * c.height * c.width;
    else macs += t.numel() * block_pixels(c, static_cast<int>(index_after(name, "body.")) + 1);
  }
  return macs;
}

int64_t branch_macs_from_weights(const OasisGraph& g, const std::string& sf, int b) {
  const auto& c = g.config();
  const int a = c.attach_points[b];
  const std::string p = "branches." + std::to_string(b) + ".";
  int64_t macs = 0;
  for (const auto& [name, t] : g.branch_state(sf)) {
    if (t.dim() != 4 || name.rfind(p, 0) != 0) continue;
    if (name == p + "guide.weight") macs += t.numel() * block_pixels(c, a + 2);
    else if (name == p + "conv_img.weight") macs += t.numel() * c.height * c.width;
    else macs += t.numel() * block_pixels(c, a + 2 + static_cast<int>(index_after(name, p + "blocks.")));
  }
  return macs;
}

fiancee::Manifest manifest_for(const OasisGraph& g) {
  const auto& c = g.config();
  fiancee::Manifest m;
  m.name = "oasis-tiny";
  m.family = "oasis";
  m.pipeline = "synth";
  m.untrained = true;
  m.architecture = std::make_shared<const nlohmann::json>(c.to_json());
  m.input = {c.width, c.height, c.label_channels(), 0, 1};
  m.output = {c.width, c.height, 3, -1, 1};
  for (const auto& sf : g.scale_factors()) m.scale_factors.push_back({sf, "", g.route_gflops(sf), ""});
  m.default_scale_factor = g.scale_factors().front();
  return m;
}


}  // namespace

TEST(OasisConfig, PaperUsesTableS8Widths) {
  const auto c = OasisConfig::paper(kAllSf, true);
  EXPECT_EQ(c.channels, (std::vector<int>{1024, 1024, 1024, 512, 256, 128, 64}));
  EXPECT_EQ(c.label_channels(), 99);
  EXPECT_EQ(c.start_height(), 8);
  EXPECT_EQ(c.start_width(), 16);
  EXPECT_EQ(c.branch_widths("1/3")[0], (std::vector<int>{336, 168, 84, 64, 64}));
  EXPECT_EQ(c.branch_widths("1/4")[3], (std::vector<int>{64, 64}));
  EXPECT_EQ(c.guide_width(0), 512);  // first branch block input 1024 -> 1536 (x1.5)
  EXPECT_EQ(c.guide_width(3), 128);
  // The generic rule reproduces Table S8 for 1/2 and 1/4 (1/3 is the table's own 336/168/84).
  auto g = OasisConfig::paper({}, false);
  g.add_scale_factor("1/2");
  g.add_scale_factor("1/4");
  EXPECT_EQ(g.branch_widths("1/2"), c.branch_widths("1/2"));
  EXPECT_EQ(g.branch_widths("1/4"), c.branch_widths("1/4"));
  EXPECT_THROW(OasisConfig::paper({"1/8"}, false), fiancee::InputError);
}

TEST(OasisConfig, JsonRoundTrip) {
  for (const auto& c : {OasisConfig::paper(kAllSf, true), OasisConfig::scaled(16, 32, 64, {"1/2", "1/4"}, false, 7)}) {
    const auto j = c.to_json();
    const auto back = OasisConfig::from_json(j, "m.json");
    EXPECT_EQ(back.to_json(), j);
    EXPECT_EQ(back.route_gflops("1/2", c.height, c.width), c.route_gflops("1/2", c.height, c.width));
  }
}

TEST(OasisConfig, StrictJsonNamesOriginAndField) {
  const auto good = OasisConfig::scaled(16, 32, 64, {"1/2"}, true).to_json();
  auto e = [&](const std::function<void(nlohmann::json&)>& edit) {
    auto j = good;
    edit(j);
    return error_of([&] { OasisConfig::from_json(j, "pkg/manifest.json"); });
  };
  EXPECT_NE(e([](auto& j) { j.erase("z_dim"); }).find("pkg/manifest.json: field 'architecture.z_dim' is missing"), std::string::npos);
  EXPECT_NE(e([](auto& j) { j["spade_hiden"] = 3; }).find("field 'architecture.spade_hiden' is not a known field"), std::string::npos);
  EXPECT_NE(e([](auto& j) { j["height"] = 40; }).find("architecture.height"), std::string::npos);
  EXPECT_NE(e([](auto& j) { j["norm"] = "group"; }).find("architecture.norm"), std::string::npos);
  EXPECT_NE(e([](auto& j) { j["channels"] = "wide"; }).find("architecture.channels"), std::string::npos);
  EXPECT_NE(e([](auto& j) { j["attach_points"] = {0, 5}; }).find("architecture.attach_points"), std::string::npos);
  EXPECT_NE(e([](auto& j) { j["branches"]["1/2"][1] = {8}; }).find("architecture.branches.1/2"), std::string::npos);
  EXPECT_NE(e([](auto& j) { j["branches"]["half"] = j["branches"]["1/2"]; }).find("architecture.branches"), std::string::npos);
  EXPECT_NE(e([](auto& j) { j["predictor_grid"] = {3}; }).find("architecture.predictor_grid"), std::string::npos);
  EXPECT_NE(e([](auto& j) { j["family"] = "g2d"; }).find("architecture.family"), std::string::npos);
}

TEST(OasisShapes, EveryExitAtTwoSmallScales) {
  torch::NoGradGuard no_grad;
  struct Size {
    int divisor, h, w;
  };
  for (const auto s : {Size{16, 32, 64}, Size{32, 64, 128}}) {
    for (bool guide : {false, true}) {
      const auto c = OasisConfig::scaled(s.divisor, s.h, s.w, {"1/2", "1/4"}, guide);
      OasisGraph g(c);
      g.eval();
      ASSERT_EQ(g.num_stages(), 5);
      ASSERT_EQ(g.num_branches(), 4);
      const int64_t n = 2;
      auto x = g.front(random_input(c, n, 1));
      std::vector<torch::Tensor> after{x};  // after[a]: input of branches attached at a
      EXPECT_EQ(g.features(x).sizes(), (std::vector<int64_t>{n, c.channels[1], s.h / 32, s.w / 32}));
      for (int k = 1; k <= g.num_stages(); ++k) {
        x = g.stage(k, x);
        EXPECT_EQ(g.features(x).sizes(), (std::vector<int64_t>{n, c.channels[k + 1], (s.h / 32) << k, (s.w / 32) << k})) << "stage " << k;
        after.push_back(x);
      }
      const std::vector<int64_t> image{n, 3, s.h, s.w};
      auto bb = g.head(x);
      EXPECT_EQ(bb.sizes(), image);
      EXPECT_LE(bb.abs().max().item<float>(), 1.0f);
      EXPECT_EQ(g.conditioning(x).sizes(), (std::vector<int64_t>{n, c.label_channels(), s.h, s.w}));
      for (const auto& sf : g.scale_factors()) {
        for (int b = 0; b < g.num_branches(); ++b) {
          auto plain = g.branch(sf, b, after[g.attach_point(b)], {});
          EXPECT_EQ(plain.sizes(), image) << sf << " branch " << b;
          EXPECT_TRUE(torch::isfinite(plain).all().item<bool>());
          if (guide) {
            auto guided = g.branch(sf, b, after[g.attach_point(b)], torch::randn({n, c.guide_channels, s.h / 8, s.w / 8}));
            EXPECT_EQ(guided.sizes(), image);
            EXPECT_FALSE(torch::allclose(guided, plain)) << "the guide must reach branch " << b;
          }
        }
        auto p = g.predict(sf, after[0], {});
        EXPECT_EQ(p.sizes(), (std::vector<int64_t>{n, 4}));
      }
    }
  }
}

TEST(OasisShapes, ConditioningFollowsRowSelection) {
  torch::NoGradGuard no_grad;
  const auto c = OasisConfig::scaled(16, 32, 64, {"1/4"}, false);
  OasisGraph g(c);
  g.eval();
  auto in = random_input(c, 3, 5);
  auto x = g.stage(1, g.front(in));
  auto rows = x.index_select(0, torch::tensor({2, 0}, torch::kLong));
  auto single = g.stage(1, g.front(in.slice(0, 2, 3)));
  EXPECT_TRUE(torch::allclose(g.stage(2, rows)[0], g.stage(2, single)[0], 1e-5, 1e-6));
  EXPECT_TRUE(torch::equal(g.conditioning(rows)[0], in[2]));
}

TEST(OasisShapes, WrongInputsAreRefused) {
  const auto c = OasisConfig::scaled(16, 32, 64, {"1/4"}, true);
  OasisGraph g(c);
  EXPECT_THROW(g.front(torch::zeros({1, c.label_channels() - 1, 32, 64})), fiancee::InputError);
  EXPECT_THROW(g.front(torch::zeros({1, c.label_channels(), 64, 64})), fiancee::InputError);
  auto x = g.front(random_input(c, 1, 2));
  EXPECT_THROW(g.stage(4, x), fiancee::InputError);  // stage 4 expects 16 feature channels at 4 x 8
  EXPECT_THROW(g.branch("1/4", 0, x, torch::zeros({1, c.guide_channels + 1, 4, 8})), fiancee::InputError);
  EXPECT_THROW(g.branch("1/3", 0, x, {}), fiancee::InputError);
}

TEST(OasisMacs, FirstConvAndSpadeResBlockByHand) {
  // Tiny: L = 4 noise + 35 classes = 39, channels 64,64,64,32,16,8,4, SPADE hidden 8, 32x64 output.
  const auto c = OasisConfig::scaled(16, 32, 64, {"1/2"}, false);
  ASSERT_EQ(c.label_channels(), 39);
  ASSERT_EQ(c.spade_hidden, 8);
  // First conv: 3x3, 39 -> 64 at 1 x 2.
  EXPECT_EQ(c.first_conv_macs(32, 64), 39 * 64 * 9 * 1 * 2);
  // Block 3 of the backbone: 64 -> 32 at 4 x 8 (learned shortcut).
  const int64_t hw = 4 * 8;
  const int64_t spade64 = (39 * 8 * 9 + 2 * 8 * 64 * 9) * hw, spade32 = (39 * 8 * 9 + 2 * 8 * 32 * 9) * hw;
  const int64_t block3 = (64 * 32 * 9 + 32 * 32 * 9 + 64 * 32) * hw + spade64 /*norm_0*/ + spade32 /*norm_1*/ + spade64 /*norm_s*/;
  EXPECT_EQ(fiancee::models::spade_resblock_macs(64, 32, 39, 8, 4, 8), block3);
  // Block 2: 64 -> 64 at 2 x 4 (identity shortcut, two SPADEs).
  const int64_t block2 = (64 * 64 * 9 * 2) * 8 + 2 * (39 * 8 * 9 + 2 * 8 * 64 * 9) * 8;
  EXPECT_EQ(fiancee::models::spade_resblock_macs(64, 64, 39, 8, 2, 4), block2);
  EXPECT_EQ(fiancee::models::spade_resblock_macs(64, 32, 39, 8, 4, 8, false), (64 * 32 * 9 + 32 * 32 * 9 + 64 * 32) * hw);
}

TEST(OasisMacs, RoutesMatchTheModulesConvWeights) {
  for (bool guide : {false, true}) {
    const auto c = OasisConfig::scaled(16, 64, 128, {"1/2", "1/3"}, guide);
    OasisGraph g(c);
    const int64_t bb = backbone_macs_from_weights(g);
    // The backbone's prefix cost up to each attach point, from the weights too.
    std::vector<int64_t> prefix{c.first_conv_macs(c.height, c.width)};
    for (int i = 1; i <= c.num_blocks(); ++i)
      prefix.push_back(prefix.back() + fiancee::models::spade_resblock_macs(c.channels[i - 1], c.channels[i], c.label_channels(),
                                                                            c.spade_hidden, c.start_height() << (i - 1),
                                                                            c.start_width() << (i - 1)));
    EXPECT_EQ(prefix.back() + int64_t{c.channels.back()} * 3 * 9 * c.height * c.width, bb);
    for (const auto& sf : g.scale_factors()) {
      const auto routes = g.route_gflops(sf);
      ASSERT_EQ(routes.size(), 5u);
      EXPECT_NEAR(routes.back(), bb / 1e9, 1e-12);
      for (int b = 0; b < 4; ++b)
        EXPECT_NEAR(routes[b], (prefix[c.attach_points[b] + 1] + branch_macs_from_weights(g, sf, b)) / 1e9, 1e-12) << sf << " " << b;
    }
  }
}

TEST(OasisMacs, PaperRoutesNearTable1) {
  // Table 1 (GFLOPs); the paper's routes match ours without the database guide convs.
  const std::map<std::string, std::vector<double>> table1 = {
      {"1/2", {157, 171, 193, 227, 319}}, {"1/3", {137, 154, 182, 227, 319}}, {"1/4", {120, 138, 168, 227, 319}}};
  const auto c = OasisConfig::paper(kAllSf, false);
  for (const auto& [sf, paper] : table1) {
    const auto ours = c.route_gflops(sf, 256, 512);
    for (size_t e = 0; e < paper.size(); ++e) EXPECT_NEAR(ours[e], paper[e], 0.01 * paper[e]) << sf << " route " << e;
  }
  EXPECT_NEAR(c.predictor_gflops(), 0.25, 0.01);  // Table S7: 250M FLOPs
}

TEST(OasisParams, CountsMatchTheModules) {
  for (bool guide : {false, true}) {
    const auto c = OasisConfig::scaled(16, 32, 64, {"1/2", "1/3"}, guide);
    OasisGraph g(c);
    EXPECT_EQ(count(g.backbone_module()), c.backbone_parameters());
    for (const auto& sf : g.scale_factors()) {
      EXPECT_EQ(count(g.branch_module(sf), "branches."), c.branch_parameters(sf));
      EXPECT_EQ(count(g.branch_module(sf), "predictor."), c.predictor_parameters());
    }
  }
  const auto p = OasisConfig::paper(kAllSf, true);
  EXPECT_NEAR(p.backbone_parameters() / 1e6, 71.1, 0.1);   // paper: 74M (see docs/flops-oasis.md)
  EXPECT_NEAR(p.predictor_parameters() / 1e6, 58.2, 0.1);  // Table S7: 58M
  EXPECT_NEAR(p.branch_parameters("1/2") / 1e6, 55.7, 0.1);  // Table S8 w/ bank: 55.7M
}

TEST(OasisEngine, ForcedExitsGiveDifferentOutputs) {
  auto g = std::make_shared<OasisGraph>(OasisConfig::scaled(16, 32, 64, {"1/2", "1/4"}, false));
  fiancee::Engine engine(g, manifest_for(*g), nullptr, torch::kCPU);
  auto input = random_input(g->config(), 1, 3);
  std::vector<torch::Tensor> images;
  const auto gflops = g->route_gflops("1/4");
  for (int e = 0; e < 5; ++e) {
    fiancee::RouteSettings s;
    s.scale_factor = "1/4";
    s.forced_exit = e;
    auto out = engine.run(input, {}, s);
    ASSERT_EQ(out.reports[0].exit, e);
    EXPECT_DOUBLE_EQ(out.reports[0].gflops, gflops[e]);
    EXPECT_EQ(out.images.sizes(), (std::vector<int64_t>{1, 3, 32, 64}));
    images.push_back(out.images);
  }
  for (int a = 0; a < 5; ++a)
    for (int b = a + 1; b < 5; ++b) EXPECT_FALSE(torch::allclose(images[a], images[b])) << a << " vs " << b;
  // The backbone route equals running the parts by hand.
  torch::NoGradGuard no_grad;
  auto x = g->front(input);
  for (int k = 1; k <= 5; ++k) x = g->stage(k, x);
  EXPECT_TRUE(torch::allclose(g->head(x), images[4], 1e-5, 1e-6));
}

TEST(OasisEngine, GuideDatabaseReachesTheBranches) {
  auto g = std::make_shared<OasisGraph>(OasisConfig::scaled(16, 32, 64, {"1/4"}, true));
  const auto m = manifest_for(*g);
  torch::manual_seed(11);
  g->eval();
  // The paper's patch database from the graph's own features of this input and others
  // (with 35 classes, other inputs alone rarely share a cell's class; a class the
  // database lacks gets a zero guide, which equals no database).
  std::shared_ptr<fiancee::GuideDatabase> db;
  {
    torch::NoGradGuard no_grad;
    auto x = g->front(torch::cat({random_input(g->config(), 1, 12), random_input(g->config(), 2, 5)}));
    const auto entries = g->guide_entries(x, g->stage(2, g->stage(1, x)));
    db = std::make_shared<fiancee::GuideDatabase>(entries.keys, entries.values, entries.labels, true);
  }
  fiancee::Engine with_db(g, m, db, torch::kCPU), without_db(g, m, nullptr, torch::kCPU);
  auto input = random_input(g->config(), 1, 12);
  const torch::Tensor key;  // OASIS queries the database with its own patch keys
  for (int e = 0; e < 5; ++e) {
    fiancee::RouteSettings s;
    s.forced_exit = e;
    const bool same = torch::allclose(with_db.run(input, key, s).images, without_db.run(input, key, s).images);
    EXPECT_EQ(same, e == 4) << "exit " << e;  // the backbone never sees the guide
  }
}

TEST(OasisEngine, MixedRoutesInOneBatchMatchSingleFrames) {
  auto g = std::make_shared<OasisGraph>(OasisConfig::scaled(16, 32, 64, {"1/2"}, false));
  fiancee::Engine engine(g, manifest_for(*g), nullptr, torch::kCPU);
  // Keep the untrained predictor's outputs positive (the engine clamps at 0) so frames differ.
  auto state = g->branch_state("1/2");
  state["predictor.mlp." + std::to_string(2 * g->config().predictor_hidden.size()) + ".bias"] += 10;
  g->load_branches("1/2", state, "test");
  auto input = random_input(g->config(), 6, 9);
  fiancee::RouteSettings probe;
  probe.quality_threshold = 0;
  std::vector<double> p0;
  for (const auto& r : engine.run(input, {}, probe).reports) p0.push_back(r.predicted[0]);
  auto sorted = p0;
  std::sort(sorted.begin(), sorted.end());
  ASSERT_LT(sorted[2], sorted[3]) << "untrained predictor gave equal predictions";
  fiancee::RouteSettings s;
  s.quality_threshold = (sorted[2] + sorted[3]) / 2;
  auto batch = engine.run(input, {}, s);
  std::set<int> exits;
  for (const auto& r : batch.reports) exits.insert(r.exit);
  EXPECT_GE(exits.size(), 2u);
  for (int i = 0; i < 6; ++i) {
    fiancee::RouteSettings f;
    f.forced_exit = batch.reports[i].exit;
    auto single = engine.run(input.slice(0, i, i + 1), {}, f);
    EXPECT_TRUE(torch::allclose(single.images[0], batch.images[i], 1e-4, 1e-5)) << "frame " << i;
  }
}

TEST(OasisState, RoundTripAndStrictErrorsNameTheTensor) {
  const auto c = OasisConfig::scaled(16, 32, 64, {"1/4"}, true);
  OasisGraph a(c), b(c);
  a.eval();
  b.eval();
  b.load_backbone(a.backbone_state(), "bb.safetensors");
  b.load_branches("1/4", a.branch_state("1/4"), "sf4.safetensors");
  torch::NoGradGuard no_grad;
  auto in = random_input(c, 1, 4);
  EXPECT_TRUE(torch::equal(a.branch("1/4", 1, a.stage(1, a.front(in)), {}), b.branch("1/4", 1, b.stage(1, b.front(in)), {})));
  EXPECT_TRUE(torch::equal(a.predict("1/4", a.front(in), {}), b.predict("1/4", b.front(in), {})));

  auto bb = a.backbone_state();
  ASSERT_TRUE(bb.count("body.2.norm_s.mlp_shared.0.weight"));
  ASSERT_TRUE(bb.count("body.0.norm_0.first_norm.running_var"));
  bb.erase("body.2.norm_s.mlp_shared.0.weight");
  auto msg = error_of([&] { b.load_backbone(bb, "bb.safetensors"); });
  EXPECT_NE(msg.find("bb.safetensors"), std::string::npos) << msg;
  EXPECT_NE(msg.find("body.2.norm_s.mlp_shared.0.weight"), std::string::npos) << msg;

  bb = a.backbone_state();
  bb["fc.weight"] = torch::zeros({3, 3, 3, 3});
  msg = error_of([&] { b.load_backbone(bb, "bb.safetensors"); });
  EXPECT_NE(msg.find("fc.weight"), std::string::npos) << msg;

  auto br = a.branch_state("1/4");
  ASSERT_TRUE(br.count("branches.0.guide.weight"));
  ASSERT_TRUE(br.count("predictor.mlp.0.weight"));
  br["branches.5.conv_img.weight"] = torch::zeros({3, 4, 3, 3});
  msg = error_of([&] { b.load_branches("1/4", br, "sf4.safetensors"); });
  EXPECT_NE(msg.find("branches.5.conv_img.weight"), std::string::npos) << msg;
  br = a.branch_state("1/4");
  br.erase("branches.0.guide.weight");
  msg = error_of([&] { b.load_branches("1/4", br, "sf4.safetensors"); });
  EXPECT_NE(msg.find("sf4.safetensors"), std::string::npos) << msg;
  EXPECT_NE(msg.find("branches.0.guide.weight"), std::string::npos) << msg;
}

TEST(OasisHelpers, InputPatchesAndDiscriminator) {
  auto labels = torch::randint(0, 5, {2, 8, 16}, torch::kLong);
  auto in = fiancee::models::oasis_input(labels, torch::randn({2, 3}), 5);
  ASSERT_EQ(in.sizes(), (std::vector<int64_t>{2, 8, 8, 16}));
  EXPECT_TRUE(torch::equal(in.slice(1, 3, 8).argmax(1), labels));
  EXPECT_THROW(fiancee::models::oasis_input(labels + 5, torch::randn({2, 3}), 5), fiancee::InputError);

  auto f = torch::randn({2, 6, 8, 16});
  auto patches = fiancee::models::cut_patches(f, 2, 4);
  ASSERT_EQ(patches.sizes(), (std::vector<int64_t>{16, 6, 4, 4}));
  EXPECT_TRUE(torch::equal(patches[4 + 1], f[0].slice(1, 4, 8).slice(2, 4, 8)));  // frame 0, row 1, column 1
  EXPECT_TRUE(torch::equal(fiancee::models::glue_patches(patches, 2, 4), f));

  fiancee::models::OasisDiscriminatorConfig dc;
  dc.label_channels = 5;
  dc.base_channels = 8;
  dc.max_channels = 32;
  fiancee::models::OasisDiscriminator d(dc);
  auto out = d.forward(torch::randn({2, 3, 32, 64}), in.slice(1, 3, 8).repeat({1, 1, 4, 4}));
  ASSERT_EQ(out.size(), 2u);
  for (const auto& s : out) {
    EXPECT_EQ(s.features.size(), 4u);
    EXPECT_EQ(s.output.size(1), 1);
    EXPECT_EQ(s.features.back().size(1), 32);
  }
  EXPECT_GT(out[0].output.size(3), out[1].output.size(3));
  EXPECT_THROW(d.forward(torch::randn({2, 3, 32, 64}), {}), fiancee::InputError);
}

// Full paper scale: slow on CPU (about 0.3-0.5 TFLOP per frame over all routes); run by hand with
// --gtest_also_run_disabled_tests --gtest_filter='OasisPaper.*'.
TEST(OasisPaper, DISABLED_FullScaleRoutes) {
  torch::NoGradGuard no_grad;
  const auto c = OasisConfig::paper({"1/4"}, true);
  OasisGraph g(c);
  g.eval();
  EXPECT_EQ(count(g.backbone_module()), c.backbone_parameters());
  EXPECT_EQ(count(g.branch_module("1/4"), "branches."), c.branch_parameters("1/4"));
  EXPECT_EQ(count(g.branch_module("1/4"), "predictor."), c.predictor_parameters());
  auto x = g.front(random_input(c, 1, 1));
  EXPECT_EQ(g.features(x).sizes(), (std::vector<int64_t>{1, 1024, 8, 16}));
  EXPECT_EQ(g.predict("1/4", x, {}).sizes(), (std::vector<int64_t>{1, 4}));
  auto guide = torch::randn({1, 512, 32, 64});
  std::vector<torch::Tensor> after{x};
  for (int k = 1; k <= 5; ++k) after.push_back(x = g.stage(k, x));
  EXPECT_EQ(g.head(x).sizes(), (std::vector<int64_t>{1, 3, 256, 512}));
  for (int b = 0; b < 4; ++b) EXPECT_EQ(g.branch("1/4", b, after[b], guide).sizes(), (std::vector<int64_t>{1, 3, 256, 512}));
}
