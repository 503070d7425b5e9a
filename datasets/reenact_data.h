// Training data for the one-shot reenactment refiner: self-reenactment pairs
// (a source and a driver image of one identity, both aligned crops with their
// landmarks), turned into exactly what the run time feeds the refiner: the
// source crop warped to the driver's landmarks, plus part masks. The target
// is the driver crop. Procedural heads (datasets/head_generator.h) give
// ground truth for any pose and expression (open mouths, closed eyes, head
// turns); real videos come from a VoxCeleb-style folder (face_videos.h).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <vector>

#include <opencv2/core.hpp>

#include "pipelines/face_frontend.h"
#include "pipelines/reenact_inputs.h"

namespace fiancee::reenact {

// One self-reenactment sample: two R x R RGB8 crops with their landmarks in
// crop pixels. Procedural pairs share the source's crop frame (the driver's
// roll and shift are kept); video pairs are each in their own aligned crop.
struct Pair {
  cv::Mat source;
  face::Landmarks source_landmarks{};
  cv::Mat driver;
  face::Landmarks driver_landmarks{};
};

struct Batch {
  torch::Tensor input;   // [B,kRefinerInputChannels,R,R] refiner input (warp + masks)
  torch::Tensor warped;  // [B,3,R,R] the warp alone, in [-1,1]
  torch::Tensor source;  // [B,3,R,R] the source crop
  torch::Tensor driver;  // [B,3,R,R] the target of self-reenactment
  torch::Tensor key;     // [B,kKeyDim] the driver landmarks' key
  torch::Tensor parts;   // [B,1,R,R] 1 inside the driver's mouth and eye boxes (below), else 0
};

// The box around landmarks [first, last], grown by `grow` of its size, inside
// a size x size crop.
cv::Rect landmark_box(const face::Landmarks& l, int first, int last, float grow, int size);
// The mouth (points 48-67, grown 30%) and eye (36-47, grown 50%) regions in
// which evaluation measures the error and training may weigh it more
// (train-backbone --part-loss-weight).
cv::Rect mouth_box(const face::Landmarks& l, int size);
cv::Rect eyes_box(const face::Landmarks& l, int size);

// The refiner's batch for these pairs. landmark_noise: standard deviation (crop
// pixels) of noise added to the driver landmarks before warping, as the run
// time's landmarks are noisy; seeded, so deterministic.
Batch make_batch(const std::vector<Pair>& pairs, float landmark_noise, uint64_t seed);

struct GuideFrames {
  torch::Tensor keys;    // [N,kKeyDim]
  torch::Tensor images;  // [N,3,R,R] in [-1,1]
};

// Where the training commands get pairs: procedural heads (below) or real
// videos (datasets/face_videos.h). Deterministic by index, so a resumed run
// sees the same samples.
class ReenactSource {
 public:
  virtual ~ReenactSource() = default;
  virtual std::vector<Pair> pairs(int batch, uint64_t index) = 0;
  Batch sample(int batch, uint64_t index) { return make_batch(pairs(batch, index), 0.6f, index); }
  // A sample avatar for the package (source.png): RGB8, any size, one face.
  virtual cv::Mat sample_avatar() = 0;
};

// Procedural identities are numbered; training takes [0, --identities), the
// evaluation's two held-out splits start here (64 identities each).
constexpr int kTestIdentities = 1000000, kValidationIdentities = 2000000, kHeldOutIdentities = 64;

// Seeds combined into one (order matters).
uint64_t mix_seed(uint64_t a, uint64_t b);

// Deterministic by (seed, identity, index). Identities [first, first + count).
class ProceduralHeads : public ReenactSource {
 public:
  ProceduralHeads(int resolution, int identities, uint64_t seed, int first_identity = 0);
  // Source: the identity at a mild random pose and expression (a photo is
  // rarely frontal and neutral); driver: any pose (yaw up to 45 degrees) and
  // expression. Both rendered at 1.25x and cut by the source's crop.
  std::vector<Pair> pairs(int batch, uint64_t index) override;
  cv::Mat sample_avatar() override;
  // n frames of one identity at sampled poses and expressions, with their keys (test fixtures' databases).
  GuideFrames frames(int identity, int n, uint64_t salt) const;

 private:
  int resolution_, identities_, first_;
  uint64_t seed_;
};

}  // namespace fiancee::reenact
