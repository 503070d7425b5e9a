#include "pipelines/demo_package.h"

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <limits>

#include "core/errors.h"
#include "core/guide_db.h"
#include "core/package.h"
#include "core/safetensors.h"
#include "models/g2d.h"
#include "pipelines/image_io.h"
#include "pipelines/reenact_inputs.h"

namespace fiancee {

namespace fs = std::filesystem;

namespace {

// Smooth random colour fields: stand-ins for source images, cheap and deterministic.
torch::Tensor procedural_images(int64_t n, int res, torch::Generator& gen) {
  auto coarse = torch::rand({n, 3, 4, 4}, gen) * 2 - 1;
  return torch::upsample_bilinear2d(coarse, {res, res}, false).clamp(-1, 1);
}

models::G2DConfig demo_config(const DemoPackageOptions& o) {
  const int c = o.base_channels;
  models::G2DConfig cfg;
  cfg.input_channels = 6;
  cfg.front_channels = {c / 2, c, 2 * c};
  const int widths[9] = {2 * c, 2 * c, 2 * c, 2 * c, 3 * c / 2, 3 * c / 2, 3 * c / 2, c, c};
  int in = 2 * c;
  for (int k = 0; k < 9; ++k) {
    cfg.stages.push_back({in, widths[k], k == 4 || k == 7});  // back to full resolution in two 2x steps
    in = widths[k];
  }
  cfg.attach_points = {2, 4, 6};  // the paper's attach points for the 9-block G2D backbone
  cfg.guide_channels = o.with_database ? 3 : 0;
  cfg.key_dim = reenact::kKeyDim;
  cfg.predictor_grid = 4;
  cfg.predictor_hidden = {64, 32};
  cfg.min_channels = 8;
  cfg.add_scale_factor("1/2");
  cfg.add_scale_factor("1/4");
  return cfg;
}

}  // namespace

void write_demo_package(const std::string& dir, const DemoPackageOptions& o) {
  if (o.resolution < 16 || o.resolution % 4 != 0) throw InputError("demo package resolution must be a multiple of 4, at least 16");
  if (o.base_channels < 8) throw InputError("demo package base channels must be at least 8");
  if (fs::exists(dir) && !fs::is_empty(dir)) throw InputError(dir + ": exists and is not empty; refusing to overwrite");
  fs::create_directories(dir);

  torch::manual_seed(o.seed);
  auto gen = at::detail::createCPUGenerator(o.seed);
  const auto cfg = demo_config(o);
  models::G2DGraph graph(cfg);

  Manifest m;
  m.name = "demo-untrained";
  m.description = "Random, UNTRAINED weights: exercises the engine and the element; its images are noise-like.";
  m.untrained = true;
  m.pipeline = "reenact";
  m.family = "g2d";
  m.architecture = std::make_shared<const nlohmann::json>(cfg.to_json());
  m.input = {o.resolution, o.resolution, 6, -1.0, 1.0};
  m.output = {o.resolution, o.resolution, 3, -1.0, 1.0};
  m.metric = "1-ms-ssim";
  m.metric_unit = "1 - MS-SSIM against the backbone output (0 = identical)";
  m.default_threshold = 0.1;
  m.weights = "backbone.safetensors";
  safetensors::save(dir + "/" + m.weights, graph.backbone_state(), {{"role", "backbone"}});
  for (const auto& [sf, specs] : cfg.branches) {
    std::string file = "branches-" + sf + ".safetensors";
    std::replace(file.begin(), file.end(), '/', '_');
    auto state = graph.branch_state(sf);
    if (o.nan_branch) state["branches.0.blocks.0.conv1.weight"].fill_(std::numeric_limits<float>::quiet_NaN());
    safetensors::save(dir + "/" + file, state, {{"role", "branches"}, {"scale_factor", sf}});
    m.scale_factors.push_back({sf, file, graph.route_gflops(sf, o.resolution, o.resolution)});
  }
  m.default_scale_factor = cfg.branches.back().first;

  if (o.with_database) {
    auto values = procedural_images(32, o.resolution, gen);
    GuideDatabase db(reenact::driver_key(values), values);
    db.save(dir, "guide");
    m.guide_database = GuideDatabaseEntry{"guide", reenact::kKeyDim, {3, o.resolution, o.resolution},
                                          "4x4 average-pooled RGB of the driver frame (placeholder key)"};
  }
  write_image(dir + "/source.png", procedural_images(1, o.resolution, gen)[0], m.output);
  Package::write(dir, m);
}

}  // namespace fiancee
