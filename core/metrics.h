// Quality metrics: distances between an exit's image and the backbone's image
// (0 = identical, larger = worse). The threshold a user sets is in the unit of
// the package's metric.
#pragma once

#include <torch/types.h>

#include <memory>
#include <string>

namespace fiancee {

class QualityMetric {
 public:
  virtual ~QualityMetric() = default;
  // Short identifier stored in manifests: "1-ms-ssim" or "lpips-alex" / "lpips-vgg".
  virtual std::string name() const = 0;
  // Human-readable unit, shown by `fiancee inspect` and the element docs.
  virtual std::string unit() const = 0;
  // a, b: [N,3,H,W] float images in [-1,1], same shape. Returns [N] distances.
  virtual torch::Tensor distance(const torch::Tensor& a, const torch::Tensor& b) const = 0;
};

// 1 - MS-SSIM (Wang et al. 2003) on RGB in [0,1], Gaussian window 11 / sigma 1.5,
// the standard five scale weights, with the number of scales reduced (weights
// renormalised) when the image is too small for five; see docs/metrics.md.
std::unique_ptr<QualityMetric> make_ms_ssim_distance();

// LPIPS (Zhang et al. 2018), official architecture, weights from a safetensors
// file the user supplies (see docs/metrics.md for the tensor names).
// variant: "alex" or "vgg". Throws UnavailableError (naming the path) if the
// file is missing, PackageError if it is incomplete or has wrong shapes.
std::unique_ptr<QualityMetric> make_lpips(const std::string& variant, const std::string& weights_path);

// By manifest name: "1-ms-ssim", "lpips-alex", "lpips-vgg" (the last two need
// lpips_weights). Throws UnavailableError for LPIPS without weights and
// InputError for unknown names.
std::unique_ptr<QualityMetric> make_metric(const std::string& name, const std::string& lpips_weights = "");

}  // namespace fiancee
