#include "training/losses.h"

#include <torch/torch.h>

#include "core/metrics.h"

namespace fiancee::losses {

torch::Tensor l1(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().mean(); }

torch::Tensor l1(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& weight) {
  if (!weight.defined()) return l1(a, b);
  return ((a - b).abs() * weight).mean() / weight.mean();
}

torch::Tensor ms_ssim(const torch::Tensor& a, const torch::Tensor& b) {
  static const auto metric = make_ms_ssim_distance();
  return metric->distance(a, b).mean();
}

torch::Tensor hinge_discriminator(const std::vector<torch::Tensor>& real, const std::vector<torch::Tensor>& fake) {
  auto loss = torch::zeros({}, real.at(0).options());
  for (size_t i = 0; i < real.size(); ++i)
    loss = loss + torch::relu(1 - real[i]).mean() + torch::relu(1 + fake.at(i)).mean();
  return loss / static_cast<double>(real.size());
}

torch::Tensor hinge_generator(const std::vector<torch::Tensor>& fake) {
  auto loss = torch::zeros({}, fake.at(0).options());
  for (const auto& f : fake) loss = loss - f.mean();
  return loss / static_cast<double>(fake.size());
}

torch::Tensor feature_matching(const std::vector<torch::Tensor>& real, const std::vector<torch::Tensor>& fake) {
  auto loss = torch::zeros({}, fake.at(0).options());
  for (size_t i = 0; i < fake.size(); ++i) loss = loss + (real.at(i).detach() - fake[i]).abs().mean();
  return loss / static_cast<double>(fake.size());
}

}  // namespace fiancee::losses
