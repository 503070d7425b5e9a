// Every native family as a package on disk: written, validated, loaded by the
// registry and run through the engine, each exit matching the graph it came from.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "core/engine.h"
#include "core/errors.h"
#include "core/package.h"
#include "core/safetensors.h"
#include "models/asap.h"
#include "models/creps.h"
#include "models/g2d.h"
#include "models/oasis.h"
#include "models/registry.h"
#include "tests/fixtures.h"

namespace {

template <typename Graph, typename Config>
void package_round_trip(const Config& cfg, const fiancee::ImageSpec& in, const fiancee::ImageSpec& out, int64_t cost_h,
                        int64_t cost_w, const torch::Tensor& input) {
  fiancee::testing::TempDir tmp;
  torch::manual_seed(3);
  Graph original(cfg);
  original.eval();
  fiancee::Manifest m;
  const auto arch = cfg.to_json();
  m.name = arch.at("family").template get<std::string>() + "-tiny";
  m.untrained = true;
  m.pipeline = "synth";
  m.family = arch.at("family").template get<std::string>();
  m.architecture = std::make_shared<const nlohmann::json>(arch);
  m.input = in;
  m.output = out;
  m.metric = "1-ms-ssim";
  m.metric_unit = "1 - MS-SSIM";
  m.weights = "backbone.safetensors";
  fiancee::safetensors::save(tmp.file(m.weights), original.backbone_state());
  for (const auto& sf : original.scale_factors()) {
    std::string file = "branches-" + sf + ".safetensors";
    std::replace(file.begin(), file.end(), '/', '_');
    fiancee::safetensors::save(tmp.file(file), original.branch_state(sf));
    m.scale_factors.push_back({sf, file, original.route_gflops(sf, cost_h, cost_w), ""});
  }
  m.default_scale_factor = m.scale_factors.front().name;
  fiancee::Package::write(tmp.path(), m);

  auto pkg = fiancee::Package::open(tmp.path());
  auto loaded = fiancee::models::load_graph(pkg);
  ASSERT_NE(dynamic_cast<Graph*>(loaded.get()), nullptr) << m.family << ": load_graph built another family's graph";
  fiancee::Engine from_disk(loaded, pkg.manifest(), nullptr, torch::kCPU);
  fiancee::Engine in_memory(std::shared_ptr<fiancee::ExitGraph>(&original, [](fiancee::ExitGraph*) {}), m, nullptr, torch::kCPU);
  std::vector<torch::Tensor> images;
  for (int e = 0; e < m.num_exits(); ++e) {
    fiancee::RouteSettings s;
    s.forced_exit = e;
    auto a = from_disk.run(input, {}, s), b = in_memory.run(input, {}, s);
    ASSERT_EQ(a.images.sizes(), (std::vector<int64_t>{1, 3, out.height, out.width})) << m.family << " exit " << e;
    EXPECT_TRUE(torch::allclose(a.images, b.images, 1e-5, 1e-6)) << m.family << " exit " << e << " differs after the round trip";
    images.push_back(a.images);
  }
  EXPECT_FALSE(torch::allclose(images.front(), images.back())) << m.family << ": cheapest exit equals the backbone";
}

}  // namespace

TEST(FamilyPackage, OasisLoadsAndRuns) {
  const auto cfg = fiancee::models::OasisConfig::scaled(16, 32, 64, {"1/2"}, false);
  auto input = torch::rand({1, cfg.label_channels(), 32, 64});
  package_round_trip<fiancee::models::OasisGraph>(cfg, {64, 32, cfg.label_channels(), 0, 1}, {64, 32, 3, -1, 1}, 32, 64, input);
}

TEST(FamilyPackage, AsapLoadsAndRuns) {
  const auto cfg = fiancee::models::AsapConfig::tiny();
  auto input = torch::rand({1, cfg.input_channels(), 32, 32});
  package_round_trip<fiancee::models::AsapGraph>(cfg, {32, 32, cfg.input_channels(), 0, 1}, {32, 32, 3, -1, 1}, 32, 32, input);
}

TEST(FamilyPackage, CrepsLoadsAndRuns) {
  const auto cfg = fiancee::models::CrepsConfig::tiny();
  auto input = torch::randn({1, cfg.z_dim, 1, 1});
  package_round_trip<fiancee::models::CrepsGraph>(cfg, {1, 1, cfg.z_dim, -10, 10}, {cfg.width, cfg.height, 3, -1, 1}, cfg.height,
                                                  cfg.width, input);
}

TEST(FamilyPackage, G2DLoadsAndRuns) {
  auto cfg = fiancee::models::G2DConfig::paper({"1/15"}, false);
  // Paper widths at a 8x8 input keep this quick.
  auto input = torch::randn({1, 512, 8, 8});
  package_round_trip<fiancee::models::G2DGraph>(cfg, {8, 8, 512, -3, 3}, {64, 64, 3, -1, 1}, 8, 8, input);
}

TEST(FamilyRegistry, EveryFamilyIsFoundByNameAndCode) {
  const auto& all = fiancee::models::families();
  ASSERT_EQ(all.size(), 5u);
  for (const auto& f : all) {
    EXPECT_EQ(&fiancee::models::family(f.name, "test"), &f) << f.name;
    EXPECT_EQ(fiancee::models::find_family(f.name), &f) << f.name;
    EXPECT_EQ(&fiancee::models::family(f.id), &f) << f.name;
    EXPECT_NE(f.load, nullptr) << f.name;
    EXPECT_NE(f.key_dim, nullptr) << f.name;
    // The synthesis pipeline and its training need both halves of the rule and a trainable graph.
    EXPECT_EQ(f.synth_shape != nullptr, f.synth()) << f.name;
    if (f.synth()) {
      EXPECT_NE(f.build, nullptr) << f.name;
    }
  }
  EXPECT_EQ(fiancee::models::find_family("spade"), nullptr);
  EXPECT_EQ(fiancee::models::synth_family_names(), "oasis, asap");
  EXPECT_TRUE(fiancee::models::family("g2d", "test").reenact);
  EXPECT_TRUE(fiancee::models::family("torchscript", "test").reenact);
  EXPECT_FALSE(fiancee::models::family("oasis", "test").reenact);
  for (const auto& f : all) EXPECT_EQ(f.patch_database, f.name == "oasis") << f.name;
}

TEST(FamilyRegistry, UnknownNameListsTheKnownOnes) {
  try {
    fiancee::models::family("spade", "pkg/manifest.json");
    FAIL() << "unknown family accepted";
  } catch (const fiancee::PackageError& e) {
    const std::string what = e.what();
    EXPECT_EQ(what.rfind("pkg/manifest.json: ", 0), 0u) << what;
    EXPECT_NE(what.find("'spade'"), std::string::npos) << what;
    EXPECT_NE(what.find("g2d, oasis, asap, creps, torchscript"), std::string::npos) << what;
  }
}

TEST(FamilyRegistry, SynthesisInputRuleAndShapeComeFromTheConfig) {
  auto labels = torch::randint(0, 5, {2, 8, 16}, torch::kLong);

  const auto oasis_cfg = fiancee::models::OasisConfig::scaled(16, 32, 64, {"1/2"}, false, 5);
  const auto& oasis = fiancee::models::family("oasis", "test");
  const auto os = oasis.synth_shape(oasis_cfg.to_json(), "test");
  EXPECT_EQ(os.num_classes, 5);
  EXPECT_EQ(os.z_dim, oasis_cfg.z_dim);
  ASSERT_GT(os.z_dim, 0);
  const auto oasis_in = oasis.synth_input(labels, torch::randn({1, os.z_dim}), os.num_classes);
  EXPECT_EQ(oasis_in.sizes(), (std::vector<int64_t>{2, oasis_cfg.label_channels(), 8, 16}));

  const auto asap_cfg = fiancee::models::AsapConfig::tiny();
  const auto& asap = fiancee::models::family("asap", "test");
  const auto as = asap.synth_shape(asap_cfg.to_json(), "test");
  EXPECT_EQ(as.num_classes, asap_cfg.num_classes);
  EXPECT_EQ(as.z_dim, 0);
  const auto asap_in = asap.synth_input(labels, {}, as.num_classes);
  EXPECT_EQ(asap_in.sizes(), (std::vector<int64_t>{2, asap_cfg.num_classes, 8, 16}));
  EXPECT_TRUE(torch::equal(asap_in.sum(1), torch::ones({2, 8, 16})));

  for (const char* name : {"g2d", "creps", "torchscript"}) EXPECT_FALSE(fiancee::models::family(name, "test").synth()) << name;
}

TEST(FamilyRegistry, LoadGraphRefusesAnUnknownFamilyByName) {
  fiancee::testing::TempDir tmp;
  fiancee::Manifest m;
  m.name = "spade";
  m.untrained = true;
  m.pipeline = "synth";
  m.family = "spade";
  m.architecture = std::make_shared<const nlohmann::json>(nlohmann::json{{"family", "spade"}});
  m.input = {8, 8, 3, 0, 1};
  m.output = {8, 8, 3, -1, 1};
  m.metric = "1-ms-ssim";
  m.metric_unit = "1 - MS-SSIM";
  m.weights = "";
  m.scale_factors = {{"1/2", "", {1.0, 2.0}, ""}};
  m.default_scale_factor = "1/2";
  fiancee::Package::write(tmp.path(), m);
  const auto pkg = fiancee::Package::open(tmp.path());
  try {
    fiancee::models::load_graph(pkg);
    FAIL() << "a package of an unknown family loaded";
  } catch (const fiancee::PackageError& e) {
    EXPECT_NE(std::string(e.what()).find(pkg.path("manifest.json") + ": unknown architecture family 'spade' (known: g2d, oasis, asap, creps, "
                                                                      "torchscript)"),
              std::string::npos)
        << e.what();
  }
}
