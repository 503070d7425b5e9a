#include "datasets/reenact_data.h"

#include <torch/torch.h>

#include "datasets/head_generator.h"
#include "pipelines/reenact_inputs.h"

namespace fiancee::reenact {

namespace {

torch::Tensor to_tensor(const cv::Mat& rgb) {
  return torch::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, torch::kUInt8).permute({2, 0, 1}).to(torch::kFloat) / 127.5 - 1.0;
}

}  // namespace

uint64_t mix_seed(uint64_t a, uint64_t b) { return a * 0x9E3779B97F4A7C15ULL ^ (b + 0x632BE59BD9B4E019ULL + (a << 6) + (a >> 2)); }

ProceduralHeads::ProceduralHeads(int resolution, int identities, int guide_frames, uint64_t seed)
    : resolution_(resolution), identities_(identities), guide_frames_(guide_frames), seed_(seed) {}

torch::Tensor ProceduralHeads::source(int identity) {
  auto it = sources_.find(identity);
  if (it != sources_.end()) return it->second;
  const auto head = headgen::sample_identity(mix_seed(seed_, identity));
  auto t = to_tensor(headgen::render(head, headgen::HeadPose{}, headgen::HeadExpression{}, resolution_));
  return sources_[identity] = t;
}

GuideFrames ProceduralHeads::frames(int identity, int n, uint64_t salt) const {
  const auto head = headgen::sample_identity(mix_seed(seed_, identity));
  std::vector<torch::Tensor> keys, images;
  for (int i = 0; i < n; ++i) {
    const uint64_t s = mix_seed(mix_seed(seed_ + 17, identity), mix_seed(salt, i));
    face::Landmarks lm;
    auto img = headgen::render(head, headgen::sample_pose(s), headgen::sample_expression(s + 1), resolution_, &lm);
    images.push_back(to_tensor(img));
    keys.push_back(key_from_landmarks(lm, resolution_, resolution_));
  }
  return {torch::stack(keys), torch::stack(images)};
}

Batch ProceduralHeads::sample(int batch, uint64_t step) {
  std::vector<torch::Tensor> src, drv, keys, guides;
  for (int b = 0; b < batch; ++b) {
    const uint64_t s = mix_seed(mix_seed(seed_, step), b);
    const int identity = static_cast<int>(s % static_cast<uint64_t>(identities_));
    auto g = guides_.find(identity);
    if (g == guides_.end()) g = guides_.emplace(identity, frames(identity, guide_frames_, 0xD00D)).first;
    auto d = frames(identity, 1, s);
    const auto nearest = (g->second.keys - d.keys).pow(2).sum(1).argmin().item<int64_t>();
    src.push_back(source(identity));
    drv.push_back(d.images[0]);
    keys.push_back(d.keys[0]);
    guides.push_back(g->second.images[nearest]);
  }
  return {torch::stack(src), torch::stack(drv), torch::stack(keys), torch::stack(guides)};
}

}  // namespace fiancee::reenact
