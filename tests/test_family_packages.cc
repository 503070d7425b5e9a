// Every native family as a package on disk: written, validated, loaded by the
// registry and run through the engine, each exit matching the graph it came from.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "core/engine.h"
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
    m.scale_factors.push_back({sf, file, original.route_gflops(sf, cost_h, cost_w)});
  }
  m.default_scale_factor = m.scale_factors.front().name;
  fiancee::Package::write(tmp.path(), m);

  auto pkg = fiancee::Package::open(tmp.path());
  auto loaded = fiancee::models::load_graph(pkg);
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
