#include <gtest/gtest.h>

#include <torch/script.h>

#include <nlohmann/json.hpp>

#include <fstream>

#include "core/engine.h"
#include "core/errors.h"
#include "core/package.h"
#include "models/registry.h"
#include "models/torchscript.h"
#include "tests/fixtures.h"

using fiancee::testing::TempDir;

namespace {

// A TorchScript module compiled from source here, so no Python is needed.
void save_module(const std::string& path, const std::string& source) {
  torch::jit::Module m("Piece");
  m.define(source);
  m.save(path);
}

// Two stages, branches after stage 0 and stage 1, one scale factor. Each
// piece adds a distinct constant so the route taken is visible in the output.
fiancee::Manifest scripted_package(const std::string& dir) {
  save_module(dir + "/front.pt", "def forward(self, x):\n    return x * 0.0\n");
  save_module(dir + "/stage1.pt", "def forward(self, x):\n    return x + 1.0\n");
  save_module(dir + "/stage2.pt", "def forward(self, x):\n    return x + 10.0\n");
  save_module(dir + "/head.pt", "def forward(self, x):\n    return x + 100.0\n");
  save_module(dir + "/b0.pt", "def forward(self, x, guide):\n    return x + 1000.0\n");
  save_module(dir + "/b1.pt", "def forward(self, x, guide):\n    return x + 2000.0\n");
  save_module(dir + "/p.pt", "def forward(self, f, key):\n    return torch.tensor([[0.3, 0.05]]).expand(f.size(0), 2)\n");
  fiancee::Manifest m;
  m.name = "scripted";
  m.untrained = true;
  m.pipeline = "reenact";
  m.family = "torchscript";
  m.architecture = std::make_shared<const nlohmann::json>(
      nlohmann::json{{"family", "torchscript"}, {"num_stages", 2}, {"attach_points", {0, 1}}});
  m.input = {4, 4, 3, -1, 1};
  m.output = {4, 4, 3, -1, 1};
  m.metric = "1-ms-ssim";
  m.metric_unit = "1 - MS-SSIM";
  m.weights = "";  // no safetensors weights: the modules carry their own
  m.scale_factors = {{"1/2", "", {1.0, 2.0, 3.0}, ""}};
  m.default_scale_factor = "1/2";
  m.torchscript = {{"front", "front.pt"}, {"stage1", "stage1.pt"}, {"stage2", "stage2.pt"}, {"head", "head.pt"},
                   {"branch.1/2.0", "b0.pt"}, {"branch.1/2.1", "b1.pt"}, {"predictor.1/2", "p.pt"}};
  fiancee::Package::write(dir, m);
  return m;
}

}  // namespace

TEST(ScriptedGraph, RunsUserModulesThroughTheEngine) {
  TempDir tmp;
  scripted_package(tmp.path());
  auto pkg = fiancee::Package::open(tmp.path());
  fiancee::Engine engine(fiancee::models::load_graph(pkg), pkg.manifest(), nullptr, torch::kCPU);
  auto input = torch::zeros({1, 3, 4, 4});
  const float expected[3] = {1000.0f, 2001.0f, 111.0f};  // exit 0, exit 1 (after stage 1), backbone
  for (int e = 0; e < 3; ++e) {
    fiancee::RouteSettings s;
    s.forced_exit = e;
    auto out = engine.run(input, {}, s);
    EXPECT_FLOAT_EQ(out.images[0][0][0][0].item<float>(), expected[e]) << "exit " << e;
  }
  // The predictor says exit 1 reaches 0.05 < 0.1 and exit 0 only 0.3.
  fiancee::RouteSettings s;
  s.quality_threshold = 0.1;
  EXPECT_EQ(engine.run(input, {}, s).reports[0].exit, 1);
}

TEST(ScriptedGraph, MissingRoleIsNamed) {
  TempDir tmp;
  auto m = scripted_package(tmp.path());
  m.torchscript.erase("stage2");
  fiancee::Package::write(tmp.path(), m);
  auto pkg = fiancee::Package::open(tmp.path());
  try {
    fiancee::models::load_graph(pkg);
    FAIL();
  } catch (const fiancee::PackageError& e) {
    EXPECT_NE(std::string(e.what()).find("'stage2'"), std::string::npos) << e.what();
  }
}

TEST(ScriptedGraph, CorruptModuleIsNamed) {
  TempDir tmp;
  auto m = scripted_package(tmp.path());
  std::ofstream(tmp.file("b1.pt")) << "not a zip archive";
  fiancee::Package::write(tmp.path(), m);
  auto pkg = fiancee::Package::open(tmp.path());
  try {
    fiancee::models::load_graph(pkg);
    FAIL();
  } catch (const fiancee::PackageError& e) {
    EXPECT_NE(std::string(e.what()).find("b1.pt"), std::string::npos) << e.what();
  }
}

TEST(ScriptedGraph, ArchitectureIsReadStrictly) {
  const std::string origin = "pkg/manifest.json";
  nlohmann::json arch{{"family", "torchscript"}, {"num_stages", 2}, {"attach_points", {0, 1}}, {"key_dim", 4}};
  const auto c = fiancee::TorchScriptConfig::from_json(arch, origin);
  EXPECT_EQ(c.num_stages, 2);
  EXPECT_EQ(c.attach_points, (std::vector<int>{0, 1}));
  EXPECT_EQ(c.key_dim, 4);
  auto refused = [&](const nlohmann::json& j, const std::string& field) {
    const auto e = fiancee::testing::error_of([&] { fiancee::TorchScriptConfig::from_json(j, origin); });
    EXPECT_NE(e.find("field '" + field + "'"), std::string::npos) << j.dump() << ": " << e;
  };
  auto typo = arch;
  typo["num_stage"] = 2;
  refused(typo, "architecture.num_stage");
  auto outside = arch;
  outside["attach_points"] = {0, 2};
  refused(outside, "architecture.attach_points[1]");
  auto none = arch;
  none["num_stages"] = 0;
  refused(none, "architecture.num_stages");
}
