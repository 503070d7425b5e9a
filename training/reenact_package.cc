#include "training/reenact_package.h"

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <limits>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/errors.h"
#include "core/guide_db.h"
#include "core/package.h"
#include "core/safetensors.h"
#include "models/g2d.h"
#include "training/package_writer.h"
#include "pipelines/image_io.h"
#include "datasets/reenact_data.h"
#include "pipelines/reenact_inputs.h"

namespace fiancee {

namespace fs = std::filesystem;

models::G2DConfig reenact_config(int c, bool guide, const std::vector<std::string>& scale_factors, double residual_scale) {
  models::G2DConfig cfg;
  cfg.input_channels = reenact::kRefinerInputChannels;
  cfg.residual_channels = 3;  // a refiner: exits correct the warped avatar
  cfg.residual_scale = residual_scale;
  cfg.front_channels = {c / 2, c, 2 * c};
  const int widths[9] = {2 * c, 2 * c, 2 * c, 2 * c, 3 * c / 2, 3 * c / 2, 3 * c / 2, c, c};
  int in = 2 * c;
  for (int k = 0; k < 9; ++k) {
    cfg.stages.push_back({in, widths[k], k == 4 || k == 7});  // back to full resolution in two 2x steps
    in = widths[k];
  }
  cfg.attach_points = {2, 4, 6};  // the paper's attach points for the 9-block G2D backbone
  cfg.guide_channels = guide ? 3 : 0;
  cfg.key_dim = reenact::kKeyDim;
  cfg.predictor_grid = 4;
  cfg.predictor_hidden = {64, 32};
  cfg.min_channels = 8;
  for (const auto& sf : scale_factors) cfg.add_scale_factor(sf);
  return cfg;
}


void write_reenact_package(const std::string& dir, const models::G2DGraph& graph, const ReenactPackageInfo& info,
                           const reenact::GuideFrames* guide, const cv::Mat& sample_avatar, bool overwrite) {
  training::prepare_package_dir(dir, overwrite);
  const auto& cfg = graph.config();
  Manifest m;
  m.name = info.name;
  m.description = info.description;
  m.untrained = info.untrained;
  m.pipeline = "reenact";
  m.family = "g2d";
  m.architecture = std::make_shared<const nlohmann::json>(cfg.to_json());
  m.input = {info.resolution, info.resolution, reenact::kRefinerInputChannels, -1.0, 1.0};
  m.output = {info.resolution, info.resolution, 3, -1.0, 1.0};
  m.use_ms_ssim_distance();
  m.default_threshold = info.default_threshold;
  training::write_graph_weights(dir, graph, m, [&](const std::string& sf) { return graph.route_gflops(sf, info.resolution, info.resolution); });
  if (guide) {
    // Half precision halves the package; guide images need no more.
    GuideDatabase db(guide->keys, guide->images.to(torch::kHalf));
    db.save(dir, "guide");
    m.guide_database = GuideDatabaseEntry{"guide", reenact::kKeyDim, {3, info.resolution, info.resolution},
                                          "head pose (3 angles / 45 deg) + landmark expression features, docs/face-frontend.md"};
  }
  cv::Mat bgr;
  cv::cvtColor(sample_avatar, bgr, cv::COLOR_RGB2BGR);
  if (!cv::imwrite(dir + "/source.png", bgr)) throw Error(dir + "/source.png: cannot write the sample avatar");
  Package::write(dir, m);
}

void write_demo_package(const std::string& dir, const DemoPackageOptions& o) {
  if (o.resolution < 16 || o.resolution % 4 != 0) throw InputError("demo package resolution must be a multiple of 4, at least 16");
  if (o.base_channels < 8) throw InputError("demo package base channels must be at least 8");
  torch::manual_seed(o.seed);
  models::G2DGraph graph(reenact_config(o.base_channels, o.with_database, {"1/2", "1/4"}));
  if (o.nan_branch)
    for (const auto& sf : graph.scale_factors()) {
      auto state = graph.branch_state(sf);
      state["branches.0.blocks.0.conv1.weight"].fill_(std::numeric_limits<float>::quiet_NaN());
      graph.load_branches(sf, state, "nan-branch fixture");
    }
  // The avatar is a procedural head; its database holds renders of it in other poses.
  reenact::ProceduralHeads heads(o.resolution, 1, o.seed);
  const auto frames = heads.frames(0, 32, 1);
  write_reenact_package(dir, graph,
                        {"demo-untrained", "Random, UNTRAINED weights: exercises the engine and the element; its images are noise-like.",
                         true, o.resolution},
                        o.with_database ? &frames : nullptr, heads.sample_avatar());
}

}  // namespace fiancee
