#include "core/metrics.h"

#include "core/errors.h"
#include "core/safetensors.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <vector>

namespace fiancee {
namespace {

std::string shape_str(torch::IntArrayRef shape) {
  std::ostringstream s;
  s << shape;
  return s.str();
}

// Both images must be [N,3,H,W] floating point on one device; the message names the metric.
void check_pair(const std::string& metric, const torch::Tensor& a, const torch::Tensor& b) {
  for (const auto* t : {&a, &b}) {
    const char* which = t == &a ? "first" : "second";
    if (!t->defined()) throw InputError("metric " + metric + ": the " + which + " image is an undefined tensor");
    if (t->dim() != 4 || t->size(1) != 3)
      throw InputError("metric " + metric + ": the " + which + " image has shape " + shape_str(t->sizes()) +
                       ", expected [N,3,H,W]");
    if (!t->is_floating_point())
      throw InputError("metric " + metric + ": the " + which + " image is not a floating-point tensor");
  }
  if (a.sizes() != b.sizes())
    throw InputError("metric " + metric + ": images have different shapes " + shape_str(a.sizes()) + " and " +
                     shape_str(b.sizes()));
  if (a.device() != b.device())
    throw InputError("metric " + metric + ": images are on different devices (" + a.device().str() + " and " +
                     b.device().str() + ")");
}

// Half precision loses the small variances SSIM divides by; compute in float32 at least.
torch::ScalarType compute_dtype(const torch::Tensor& t) {
  return t.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
}

// ---------------------------------------------------------------------------------------------
// 1 - MS-SSIM

class MsSsimDistance : public QualityMetric {
 public:
  std::string name() const override { return "1-ms-ssim"; }
  std::string unit() const override { return "1 - MS-SSIM (0 = identical to the backbone output, 1 = unrelated)"; }

  torch::Tensor distance(const torch::Tensor& a, const torch::Tensor& b) const override {
    check_pair(name(), a, b);
    const auto opts = torch::TensorOptions().dtype(compute_dtype(a)).device(a.device());
    auto x = (a.to(opts) + 1) / 2;
    auto y = (b.to(opts) + 1) / 2;
    const int64_t h = x.size(2), w = x.size(3);
    if (h < 1 || w < 1) throw InputError("metric 1-ms-ssim: images are empty, shape " + shape_str(a.sizes()));

    const int64_t win = std::min<int64_t>({11, h, w});
    // Largest scale count whose coarsest (floor-halved) scale still holds the window.
    int levels = 1;
    for (int64_t sh = h / 2, sw = w / 2; levels < 5 && std::min(sh, sw) >= win; sh /= 2, sw /= 2) ++levels;

    // x, y, x^2, y^2, xy per channel, filtered in one grouped separable convolution.
    auto g = torch::arange(win, opts) - (win - 1) / 2.0;
    g = torch::exp(-g * g / (2 * 1.5 * 1.5));
    g = g / g.sum();
    const auto gv = g.view({1, 1, win, 1}).repeat({15, 1, 1, 1});
    const auto gh = g.view({1, 1, 1, win}).repeat({15, 1, 1, 1});
    const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;

    // Contrast-structure at every scale but the coarsest, full SSIM there; each [N,3].
    std::vector<torch::Tensor> terms;
    for (int j = 0; j < levels; ++j) {
      if (j > 0) {
        x = torch::avg_pool2d(x, 2);
        y = torch::avg_pool2d(y, 2);
      }
      auto stats = torch::cat({x, y, x * x, y * y, x * y}, 1);
      for (const auto& k : {gv, gh}) stats = torch::conv2d(stats, k, torch::Tensor(), 1, torch::IntArrayRef{0}, 1, 15);
      auto s = stats.chunk(5, 1);
      const auto mx = s[0], my = s[1];
      const auto vx = s[2] - mx * mx, vy = s[3] - my * my, cxy = s[4] - mx * my;
      const auto cs_map = (2 * cxy + c2) / (vx + vy + c2);
      const auto l_map = (2 * mx * my + c1) / (mx * mx + my * my + c1);
      terms.push_back((j + 1 < levels ? cs_map : l_map * cs_map).mean({2, 3}));
    }
    auto weights = torch::tensor({0.0448, 0.2856, 0.3001, 0.2363, 0.1333}, opts).slice(0, 0, levels);
    weights = (weights / weights.sum()).view({levels, 1, 1});
    // Negative cs/ssim (anti-correlated patches) would give NaN under a fractional power.
    const auto ms_ssim = torch::stack(terms).clamp_min(0).pow(weights).prod(0).mean(1);
    return (1 - ms_ssim).clamp(0, 1);
  }
};

// ---------------------------------------------------------------------------------------------
// LPIPS

// One convolution of the torchvision `features` trunk, always followed by a ReLU.
struct ConvSpec {
  int index;  // torchvision's index in `features`, which names the tensors
  int64_t in, out, kernel, stride, pad;
  bool pool_before;  // a max-pool sits between the previous ReLU and this convolution
  bool tap;          // LPIPS compares the ReLU output after this convolution
};

struct VariantSpec {
  std::string name;
  std::vector<ConvSpec> convs;
  int64_t pool_kernel, pool_stride;
};

const VariantSpec& variant_spec(const std::string& variant) {
  static const VariantSpec alex{"alex",
                                {{0, 3, 64, 11, 4, 2, false, true},
                                 {3, 64, 192, 5, 1, 2, true, true},
                                 {6, 192, 384, 3, 1, 1, true, true},
                                 {8, 384, 256, 3, 1, 1, false, true},
                                 {10, 256, 256, 3, 1, 1, false, true}},
                                3,
                                2};
  static const VariantSpec vgg{"vgg",
                               {{0, 3, 64, 3, 1, 1, false, false},
                                {2, 64, 64, 3, 1, 1, false, true},
                                {5, 64, 128, 3, 1, 1, true, false},
                                {7, 128, 128, 3, 1, 1, false, true},
                                {10, 128, 256, 3, 1, 1, true, false},
                                {12, 256, 256, 3, 1, 1, false, false},
                                {14, 256, 256, 3, 1, 1, false, true},
                                {17, 256, 512, 3, 1, 1, true, false},
                                {19, 512, 512, 3, 1, 1, false, false},
                                {21, 512, 512, 3, 1, 1, false, true},
                                {24, 512, 512, 3, 1, 1, true, false},
                                {26, 512, 512, 3, 1, 1, false, false},
                                {28, 512, 512, 3, 1, 1, false, true}},
                               2,
                               2};
  if (variant == "alex") return alex;
  if (variant == "vgg") return vgg;
  throw InputError("LPIPS variant '" + variant + "' is unknown; valid variants: alex, vgg");
}

// Whether a side of `s` pixels survives every pooling and convolution of the trunk.
bool fits(const VariantSpec& spec, int64_t s) {
  for (const auto& c : spec.convs) {
    if (c.pool_before) {
      if (s < spec.pool_kernel) return false;
      s = (s - spec.pool_kernel) / spec.pool_stride + 1;
    }
    if (s + 2 * c.pad < c.kernel) return false;
    s = (s + 2 * c.pad - c.kernel) / c.stride + 1;
  }
  return true;
}

struct LpipsWeights {
  std::vector<torch::Tensor> conv_w, conv_b, lin;
};

class Lpips : public QualityMetric {
 public:
  Lpips(const VariantSpec& spec, const std::string& path) : spec_(spec) {
    if (!std::filesystem::exists(path))
      throw UnavailableError("LPIPS (" + spec.name + ") is unavailable without its weights: the file '" + path +
                             "' does not exist; docs/metrics.md explains how to convert the official weights");
    auto tensors = safetensors::load(path);
    auto take = [&](const std::string& name, std::vector<int64_t> shape) {
      auto it = tensors.find(name);
      if (it == tensors.end())
        throw PackageError("LPIPS weights '" + path + "' lack the tensor '" + name + "' needed by LPIPS-" + spec.name +
                           " (tensor names: docs/metrics.md)");
      auto t = it->second;
      tensors.erase(it);
      if (t.sizes() != torch::IntArrayRef(shape))
        throw PackageError("LPIPS weights '" + path + "': tensor '" + name + "' has shape " + shape_str(t.sizes()) +
                           ", LPIPS-" + spec.name + " expects " + shape_str(shape));
      if (!t.is_floating_point() || !torch::isfinite(t).all().item<bool>())
        throw PackageError("LPIPS weights '" + path + "': tensor '" + name + "' is not finite floating point");
      return t.to(torch::kFloat);
    };
    int k = 0;
    for (const auto& c : spec.convs) {
      const auto prefix = "features." + std::to_string(c.index);
      cpu_.conv_w.push_back(take(prefix + ".weight", {c.out, c.in, c.kernel, c.kernel}));
      cpu_.conv_b.push_back(take(prefix + ".bias", {c.out}));
      if (!c.tap) continue;
      const auto name = "lin" + std::to_string(k++) + ".weight";
      auto lin = take(name, {1, c.out, 1, 1});
      // Negative lin weights could make a distance negative; the official ones are clamped at 0.
      if ((lin < 0).any().item<bool>())
        throw PackageError("LPIPS weights '" + path + "': tensor '" + name +
                           "' has negative entries; the official lin weights are non-negative");
      cpu_.lin.push_back(lin);
    }
    if (!tensors.empty())
      throw PackageError("LPIPS weights '" + path + "' hold the unexpected tensor '" + tensors.begin()->first +
                         "' (is this a file for the other variant? LPIPS-" + spec.name +
                         " tensor names: docs/metrics.md)");
    while (!fits(spec_, min_side_)) ++min_side_;
  }

  std::string name() const override { return "lpips-" + spec_.name; }
  std::string unit() const override {
    return "LPIPS-" + spec_.name + " distance (0 = identical to the backbone output, larger = more different; "
           "about 0.1 is a visible change)";
  }

  torch::Tensor distance(const torch::Tensor& a, const torch::Tensor& b) const override {
    check_pair(name(), a, b);
    if (std::min(a.size(2), a.size(3)) < min_side_)
      throw InputError("metric " + name() + ": images of shape " + shape_str(a.sizes()) + " are too small, the trunk needs " +
                       std::to_string(min_side_) + "x" + std::to_string(min_side_) + " pixels or more");
    const auto opts = torch::TensorOptions().dtype(compute_dtype(a)).device(a.device());
    const auto w = weights_for(opts);
    const auto shift = torch::tensor({-.030, -.088, -.188}, opts).view({1, 3, 1, 1});
    const auto scale = torch::tensor({.458, .448, .450}, opts).view({1, 3, 1, 1});
    const int64_t n = a.size(0);

    // Both images in one batch: one trunk pass.
    auto x = (torch::cat({a.to(opts), b.to(opts)}) - shift) / scale;
    auto total = torch::zeros({n}, opts);
    size_t k = 0;
    for (size_t i = 0; i < spec_.convs.size(); ++i) {
      const auto& c = spec_.convs[i];
      if (c.pool_before) x = torch::max_pool2d(x, spec_.pool_kernel, spec_.pool_stride);
      x = torch::relu(torch::conv2d(x, w.conv_w[i], w.conv_b[i], c.stride, c.pad));
      if (!c.tap) continue;
      const auto unit = x / (x.pow(2).sum(1, true).sqrt() + 1e-10);
      const auto d = (unit.slice(0, 0, n) - unit.slice(0, n)).pow(2);
      total = total + torch::conv2d(d, w.lin[k++]).mean({1, 2, 3});
    }
    return total;
  }

 private:
  // The weights on the images' device and dtype, converted once per change of either.
  LpipsWeights weights_for(const torch::TensorOptions& opts) const {
    std::lock_guard<std::mutex> lock(mu_);
    if (cached_.lin.empty() || cached_.lin.front().device() != opts.device() ||
        cached_.lin.front().dtype() != opts.dtype()) {
      auto convert = [&](const std::vector<torch::Tensor>& v) {
        std::vector<torch::Tensor> out;
        for (const auto& t : v) out.push_back(t.to(opts));
        return out;
      };
      cached_ = {convert(cpu_.conv_w), convert(cpu_.conv_b), convert(cpu_.lin)};
    }
    return cached_;
  }

  const VariantSpec& spec_;
  LpipsWeights cpu_;
  int64_t min_side_ = 1;
  mutable std::mutex mu_;
  mutable LpipsWeights cached_;
};

}  // namespace

std::unique_ptr<QualityMetric> make_ms_ssim_distance() { return std::make_unique<MsSsimDistance>(); }

std::unique_ptr<QualityMetric> make_lpips(const std::string& variant, const std::string& weights_path) {
  return std::make_unique<Lpips>(variant_spec(variant), weights_path);
}

std::unique_ptr<QualityMetric> make_metric(const std::string& name, const std::string& lpips_weights) {
  if (name == "1-ms-ssim") return make_ms_ssim_distance();
  if (name == "lpips-alex" || name == "lpips-vgg") {
    const auto variant = name.substr(6);
    if (lpips_weights.empty())
      throw UnavailableError("quality metric '" + name + "' is unavailable: LPIPS needs a weights file and none was "
                             "given; convert the official LPIPS and torchvision " + variant +
                             " weights into one safetensors file (recipe in docs/metrics.md) and pass its path");
    return make_lpips(variant, lpips_weights);
  }
  throw InputError("unknown quality metric '" + name + "'; valid names: 1-ms-ssim, lpips-alex, lpips-vgg");
}

}  // namespace fiancee
