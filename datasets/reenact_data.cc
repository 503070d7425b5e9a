#include "datasets/reenact_data.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <random>

#include <opencv2/imgproc.hpp>

#include "datasets/head_generator.h"

namespace fiancee::reenact {

uint64_t mix_seed(uint64_t a, uint64_t b) { return a * 0x9E3779B97F4A7C15ULL ^ (b + 0x632BE59BD9B4E019ULL + (a << 6) + (a >> 2)); }

cv::Rect landmark_box(const face::Landmarks& l, int first, int last, float grow, int size) {
  std::vector<cv::Point2f> pts(l.begin() + first, l.begin() + last + 1);
  cv::Rect2f r = cv::boundingRect(pts);
  r.x -= r.width * grow / 2, r.y -= r.height * grow / 2, r.width *= 1 + grow, r.height *= 1 + grow;
  return cv::Rect(r) & cv::Rect(0, 0, size, size);
}

cv::Rect mouth_box(const face::Landmarks& l, int size) { return landmark_box(l, 48, 67, 0.3f, size); }
cv::Rect eyes_box(const face::Landmarks& l, int size) { return landmark_box(l, 36, 47, 0.5f, size); }

Batch make_batch(const std::vector<Pair>& pairs, float landmark_noise, uint64_t seed) {
  std::vector<torch::Tensor> input, warped, source, driver, key, parts;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> noise(0.f, landmark_noise > 0 ? landmark_noise : 1.f);
  for (const auto& p : pairs) {
    const int size = p.source.cols;
    face::Landmarks target = p.driver_landmarks;
    if (landmark_noise > 0)
      for (auto& q : target) q += cv::Point2f(noise(rng), noise(rng));
    const auto mesh = warp::make_mesh(p.source_landmarks, size);
    const auto w = warp_avatar(p.source, mesh, target);
    input.push_back(refiner_input(w)[0]);
    warped.push_back(rgb8_to_tensor(w.image));
    source.push_back(rgb8_to_tensor(p.source));
    driver.push_back(rgb8_to_tensor(p.driver));
    key.push_back(key_from_landmarks(p.driver_landmarks, size, size));
    cv::Mat box(size, size, CV_32F, cv::Scalar(0.f));
    box(mouth_box(p.driver_landmarks, size)).setTo(1.f);
    box(eyes_box(p.driver_landmarks, size)).setTo(1.f);
    parts.push_back(torch::from_blob(box.data, {1, size, size}, torch::kFloat).clone());
  }
  return {torch::stack(input), torch::stack(warped), torch::stack(source), torch::stack(driver), torch::stack(key), torch::stack(parts)};
}

ProceduralHeads::ProceduralHeads(int resolution, int identities, uint64_t seed, int first_identity)
    : resolution_(resolution), identities_(identities), first_(first_identity), seed_(seed) {}

cv::Mat ProceduralHeads::sample_avatar() {
  const auto head = headgen::sample_identity(mix_seed(seed_, uint64_t(first_)));
  // Large enough for the face detector whatever the package's resolution.
  return headgen::render(head, headgen::HeadPose{}, headgen::HeadExpression{}, std::max(256, resolution_ * 2));
}

GuideFrames ProceduralHeads::frames(int identity, int n, uint64_t salt) const {
  const auto head = headgen::sample_identity(mix_seed(seed_, uint64_t(first_ + identity)));
  std::vector<torch::Tensor> keys, images;
  for (int i = 0; i < n; ++i) {
    const uint64_t s = mix_seed(mix_seed(seed_ + 17, uint64_t(identity)), mix_seed(salt, uint64_t(i)));
    face::Landmarks lm;
    auto img = headgen::render(head, headgen::sample_pose(s), headgen::sample_expression(s + 1), resolution_, &lm);
    images.push_back(rgb8_to_tensor(img));
    keys.push_back(key_from_landmarks(lm, resolution_, resolution_));
  }
  return {torch::stack(keys), torch::stack(images)};
}

std::vector<Pair> ProceduralHeads::pairs(int batch, uint64_t index) {
  std::vector<Pair> out(static_cast<size_t>(batch));
  const int render = resolution_ * 5 / 4;
  // Ray casting dominates a training step: samples render in parallel (each is seeded on its own).
  std::exception_ptr failed;  // an exception must not leave the parallel region
#pragma omp parallel for schedule(dynamic)
  for (int b = 0; b < batch; ++b) {
   try {
    const uint64_t s = mix_seed(mix_seed(seed_, index), uint64_t(b));
    const int identity = first_ + static_cast<int>(s % static_cast<uint64_t>(identities_));
    const auto head = headgen::sample_identity(mix_seed(seed_, uint64_t(identity)));
    // Source: mild pose, and an expression toned down (photos mostly show a calm face).
    auto source_pose = headgen::sample_pose(s + 3, 15.f, 10.f, 8.f);
    auto source_expr = headgen::sample_expression(s + 4);
    source_expr.jaw_open *= 0.3f;
    source_expr.blink *= 0.3f;
    const auto driver_pose = headgen::sample_pose(s + 5, 45.f, 20.f, 15.f);
    const auto driver_expr = headgen::sample_expression(s + 6);
    face::Landmarks ls, ld;
    const cv::Mat src = headgen::render(head, source_pose, source_expr, render, &ls);
    const cv::Mat drv = headgen::render(head, driver_pose, driver_expr, render, &ld);
    Pair p;
    const cv::Matx23f t = align_crop(src, ls, resolution_, p.source, p.source_landmarks);
    cv::warpAffine(drv, p.driver, t, cv::Size(resolution_, resolution_), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
    for (int i = 0; i < face::kNumLandmarks; ++i) p.driver_landmarks[i] = face::transform(t, ld[i]);
    out[static_cast<size_t>(b)] = std::move(p);
   } catch (...) {
#pragma omp critical
    if (!failed) failed = std::current_exception();
   }
  }
  if (failed) std::rethrow_exception(failed);
  return out;
}

}  // namespace fiancee::reenact
