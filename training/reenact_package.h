// Reenactment model packages: the G2D configuration they use, writing one
// from a graph (training tools), and a small random-weights package (the
// tests' fixture; its manifest says "untrained": true).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "core/defaults.h"
#include "models/g2d.h"

namespace fiancee {

namespace reenact {
struct GuideFrames;
}

// The reenactment refiner G2D: a conv front on the warped avatar + part masks
// down to 1/4 resolution, nine ResBlock2D stages back up to full resolution,
// a correction added to the warp (residual_channels 3), branches after
// stages 2, 4, 6 (the paper's attach points) at each scale factor; the
// correction is residual_scale x the head's tanh (G2DConfig::residual_scale).
models::G2DConfig reenact_config(int base_channels, bool guide, const std::vector<std::string>& scale_factors,
                                 double residual_scale = 1.0);

struct ReenactPackageInfo {
  std::string name;
  std::string description;
  bool untrained = false;
  int resolution = 0;
  double default_threshold = defaults::kQualityThreshold;  // the manifest's recommended quality-threshold
};

// Writes weights of every scale factor, the guide database (when frames are
// given), source.png (a sample avatar photo, RGB8) and the manifest into dir
// (created; must be empty or absent unless overwrite).
void write_reenact_package(const std::string& dir, const models::G2DGraph& graph, const ReenactPackageInfo& info,
                           const reenact::GuideFrames* guide, const cv::Mat& sample_avatar, bool overwrite = false);

struct DemoPackageOptions {
  int resolution = 64;           // square input/output size
  int base_channels = 32;        // backbone width
  uint64_t seed = 1;
  bool with_database = true;     // a guide database of procedural source images
  bool nan_branch = false;       // poison branch 0 with NaN weights (tests the fallback)
};

// Creates `dir` (must not exist or be empty). Throws fiancee::Error on failure.
void write_demo_package(const std::string& dir, const DemoPackageOptions& options = {});

}  // namespace fiancee
