#include "models/state_dict.h"

#include <set>

#include "core/errors.h"

namespace fiancee::models {

namespace {

std::string shape_str(const torch::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

template <typename F>
void each_entry(const torch::nn::Module& module, F&& f) {
  for (const auto& p : module.named_parameters()) f(p.key(), p.value());
  for (const auto& b : module.named_buffers()) f(b.key(), b.value());
}

}  // namespace

safetensors::TensorMap state_of(const torch::nn::Module& module, const std::string& prefix) {
  safetensors::TensorMap out;
  each_entry(module, [&](const std::string& name, const torch::Tensor& t) { out[prefix + name] = t.detach().cpu(); });
  return out;
}

void load_state(torch::nn::Module& module, const safetensors::TensorMap& tensors, const std::string& prefix,
                const std::string& origin) {
  torch::NoGradGuard no_grad;
  std::set<std::string> used;
  each_entry(module, [&](const std::string& name, torch::Tensor t) {
    const std::string key = prefix + name;
    auto it = tensors.find(key);
    if (it == tensors.end()) throw PackageError(origin + ": tensor '" + key + "' is missing");
    if (it->second.sizes() != t.sizes())
      throw PackageError(origin + ": tensor '" + key + "' has shape " + shape_str(it->second) + " but the architecture needs " + shape_str(t));
    // Float to float only (F16/BF16 widen exactly): integers relabelled as weights are corrupt, not convertible.
    if (it->second.is_floating_point() != t.is_floating_point())
      throw PackageError(origin + ": tensor '" + key + "' is " + std::string(c10::toString(it->second.scalar_type())) +
                         " but the architecture needs a " + (t.is_floating_point() ? "floating-point" : "integer") + " tensor");
    t.copy_(it->second.to(t.dtype()));
    used.insert(key);
  });
  for (const auto& [key, value] : tensors)
    if (key.rfind(prefix, 0) == 0 && !used.count(key))
      throw PackageError(origin + ": tensor '" + key + "' is not part of the architecture (weights for another model?)");
}

}  // namespace fiancee::models
