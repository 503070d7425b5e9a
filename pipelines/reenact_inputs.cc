#include "pipelines/reenact_inputs.h"

#include <torch/torch.h>

#include <cmath>
#include <cstring>

#include <opencv2/imgproc.hpp>

#include "core/errors.h"

namespace fiancee::reenact {

torch::Tensor key_from_landmarks(const face::Landmarks& landmarks, int width, int height) {
  const auto key = face::make_key(face::estimate_pose(landmarks, width, height), face::expression_features(landmarks));
  return torch::tensor(key, torch::kFloat);
}

cv::Matx23f align_crop(const cv::Mat& rgb, const face::Landmarks& landmarks, int size, cv::Mat& crop,
                       face::Landmarks& crop_landmarks) {
  const cv::Matx23f t = face::crop_transform(landmarks, size);
  const double scale = std::hypot(t(0, 0), t(1, 0));
  cv::Mat src = rgb;
  cv::Matx23f m = t;
  if (scale < 0.5) {  // warpAffine does not area-average
    const double f = 2.0 * scale;
    cv::resize(rgb, src, cv::Size(), f, f, cv::INTER_AREA);
    for (int r = 0; r < 2; ++r)
      for (int c = 0; c < 2; ++c) m(r, c) = float(m(r, c) / f);
  }
  cv::warpAffine(src, crop, m, cv::Size(size, size), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  for (int i = 0; i < face::kNumLandmarks; ++i) crop_landmarks[i] = face::transform(t, landmarks[i]);
  return t;
}

Warped warp_avatar(const cv::Mat& avatar_crop, const warp::Mesh& mesh, const face::Landmarks& target) {
  for (const auto& p : target)
    if (!std::isfinite(p.x) || !std::isfinite(p.y)) throw NonFiniteError("the target landmarks of a frame are not finite");
  const cv::Mat map = warp::backward_map(mesh, warp::mesh_targets(mesh, target));
  return {warp::apply(avatar_crop, map), warp::part_masks(target, mesh.size)};
}

torch::Tensor rgb8_to_tensor(const cv::Mat& rgb) {
  CV_Assert(rgb.type() == CV_8UC3);
  const cv::Mat c = rgb.isContinuous() ? rgb : rgb.clone();
  return torch::from_blob(c.data, {c.rows, c.cols, 3}, torch::kUInt8).permute({2, 0, 1}).to(torch::kFloat) / 127.5 - 1.0;
}

cv::Mat tensor_to_rgb8(const torch::Tensor& image) {
  if (image.dim() != 3 || image.size(0) != 3) throw InputError("a refined crop must be [3,H,W]");
  const auto t = ((image.detach().to(torch::kCPU, torch::kFloat) + 1.0) * 127.5).round().clamp(0, 255).to(torch::kUInt8).permute({1, 2, 0}).contiguous();
  cv::Mat out(int(t.size(0)), int(t.size(1)), CV_8UC3);
  std::memcpy(out.data, t.data_ptr<uint8_t>(), out.total() * 3);
  return out;
}

torch::Tensor refiner_input(const Warped& w) {
  CV_Assert(w.masks.type() == CV_32FC2 && w.masks.size() == w.image.size());
  const cv::Mat m = w.masks.isContinuous() ? w.masks : w.masks.clone();
  auto masks = torch::from_blob(m.data, {m.rows, m.cols, 2}, torch::kFloat).permute({2, 0, 1});
  return torch::cat({rgb8_to_tensor(w.image), masks}, 0).unsqueeze(0).contiguous();
}

}  // namespace fiancee::reenact
