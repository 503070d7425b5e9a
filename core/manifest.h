// The model package manifest (manifest.json), format version 1. See
// docs/package-format.md for the full schema; parse() checks every field's
// presence and type and throws PackageError naming the manifest and the field.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/defaults.h"

namespace fiancee {

struct ImageSpec {
  int width = 0;
  int height = 0;
  int channels = 3;
  double range_min = -1.0;  // pixel 0 maps to range_min, 255 to range_max
  double range_max = 1.0;
};

struct ScaleFactorEntry {
  std::string name;                 // "1/8"
  std::string weights;              // branches + predictor of this scale factor
  std::vector<double> route_gflops; // one per exit; the last is the backbone
  std::string calibration;          // optional: predicted and measured quality on calibration frames (core/calibration.h)
};

struct GuideDatabaseEntry {
  std::string prefix;               // files <prefix>.safetensors [+ .faiss]
  int key_dim = 0;
  std::vector<int64_t> value_shape;
  std::string key_description;      // what the key vector means, for humans
};

struct Manifest {
  static constexpr int kFormatVersion = 1;

  std::string name;
  std::string description;
  bool untrained = false;           // random weights: say so wherever the package is used
  std::string pipeline;             // "reenact" or "synth"
  std::string family;               // architecture family, e.g. "g2d"
  std::shared_ptr<const nlohmann::json> architecture;  // family-specific config
  ImageSpec input;
  ImageSpec output;
  std::string metric;               // "1-ms-ssim", "lpips-alex", ...
  std::string metric_unit;
  double default_threshold = defaults::kQualityThreshold;
  std::string weights;              // backbone weights file ("" for TorchScript packages)
  std::vector<ScaleFactorEntry> scale_factors;
  std::string default_scale_factor;
  std::optional<GuideDatabaseEntry> guide_database;
  std::map<std::string, std::string> torchscript;  // role -> file, "bring your own backbone"
  std::map<std::string, std::string> files;        // file -> sha256

  // The default metric of packages our tools write: 1 - MS-SSIM to the backbone, threshold 0.1.
  void use_ms_ssim_distance();

  int num_exits() const { return scale_factors.empty() ? 0 : static_cast<int>(scale_factors[0].route_gflops.size()); }
  const ScaleFactorEntry& scale_factor(const std::string& name) const;  // throws InputError listing valid ones

  // `origin` names the manifest in error messages.
  static Manifest parse(const std::string& text, const std::string& origin);
  std::string dump() const;  // JSON text, 2-space indent
};

}  // namespace fiancee
