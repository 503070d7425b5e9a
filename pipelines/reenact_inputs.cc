#include "pipelines/reenact_inputs.h"

#include <torch/torch.h>

#include "core/guide_db.h"

namespace fiancee::reenact {

torch::Tensor key_from_landmarks(const face::Landmarks& landmarks, int width, int height) {
  const auto key = face::make_key(face::estimate_pose(landmarks, width, height), face::expression_features(landmarks));
  return torch::tensor(key, torch::kFloat);
}

torch::Tensor backbone_input(const torch::Tensor& source, const torch::Tensor& key) {
  const auto n = key.size(0);
  auto planes = key.to(source.device(), source.scalar_type()).view({n, -1, 1, 1}).expand({n, key.size(1), source.size(2), source.size(3)});
  return torch::cat({source.expand({n, -1, -1, -1}), planes}, 1);
}

std::vector<float> avatar_typical_expression(const GuideDatabase* database) {
  if (!database || database->size() == 0) return std::vector<float>(face::kExprDim, 0.f);
  const auto median = std::get<0>(database->keys().slice(1, 3, 3 + face::kExprDim).median(0)).contiguous();
  return {median.data_ptr<float>(), median.data_ptr<float>() + face::kExprDim};
}

}  // namespace fiancee::reenact
