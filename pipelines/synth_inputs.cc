#include "pipelines/synth_inputs.h"

#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "core/errors.h"

namespace fiancee::synth {

namespace {

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double uniform01(uint64_t& state) { return (static_cast<double>(splitmix64(state) >> 11) + 0.5) / 9007199254740992.0; }

}  // namespace

torch::Tensor noise_for_seed(uint64_t seed, int z_dim) {
  if (z_dim < 0) throw InputError("noise size must not be negative");
  uint64_t state = seed ^ 0x6F617369734E6F69ull;  // domain-separated from other uses of the seed
  std::vector<float> z(static_cast<size_t>(z_dim));
  for (int i = 0; i < z_dim; i += 2) {
    // Box-Muller: two normals per pair of uniforms.
    const double r = std::sqrt(-2.0 * std::log(uniform01(state))), a = 2.0 * M_PI * uniform01(state);
    z[i] = static_cast<float>(r * std::cos(a));
    if (i + 1 < z_dim) z[i + 1] = static_cast<float>(r * std::sin(a));
  }
  return torch::tensor(z, torch::kFloat).unsqueeze(0);
}

void check_class_ids(const torch::Tensor& labels, int num_classes) {
  const torch::Tensor bad = (labels < 0) | (labels >= num_classes);
  if (!bad.any().item<bool>()) return;
  // nonzero() and masked_select() both go in row-major order: the same first pixel.
  const torch::Tensor at = bad.nonzero()[0];
  const int64_t n = at.size(0);
  throw InputError("label map holds class id " + std::to_string(labels.masked_select(bad)[0].item<int64_t>()) + " at x=" +
                   std::to_string(at[n - 1].item<int64_t>()) + ", y=" + std::to_string(n >= 2 ? at[n - 2].item<int64_t>() : 0) +
                   " but the model knows " + std::to_string(num_classes) + " classes (0.." + std::to_string(num_classes - 1) +
                   "; docs/synthesis.md#label-maps)");
}

torch::Tensor backbone_input(const models::Family& family, const torch::Tensor& labels, const torch::Tensor& z, int num_classes) {
  if (!labels.defined() || labels.dim() != 3) throw InputError("label maps must be [N,H,W] class ids");
  check_class_ids(labels, num_classes);
  if (!family.synth())
    throw InputError("synthesis has no input rule for architecture family '" + family.name + "' (known: " +
                     models::synth_family_names() + ")");
  return family.synth_input(labels, z, num_classes);
}

}  // namespace fiancee::synth
