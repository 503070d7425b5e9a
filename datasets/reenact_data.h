// Training and database data for the reenactment pipeline: self-reenactment
// samples (source and driver frames of one identity; the target is the
// driver frame) and the guide frames of a source. Procedural heads
// (datasets/head_generator.h) stand in for VoxCeleb, which is not reachable
// here; keys come from landmarks exactly as at run time.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "pipelines/face_frontend.h"
#include "pipelines/reenact_inputs.h"

namespace fiancee::reenact {

struct Batch {
  torch::Tensor source;  // [B,3,R,R] in [-1,1]
  torch::Tensor driver;  // [B,3,R,R] the target of self-reenactment
  torch::Tensor key;     // [B,kKeyDim] pose + expression descriptor of the driver
  torch::Tensor guide;   // [B,3,R,R] the identity's guide frame nearest to the driver's key
};

struct GuideFrames {
  torch::Tensor keys;    // [N,kKeyDim]
  torch::Tensor images;  // [N,3,R,R] in [-1,1]
};

// Where the training commands get reenactment samples: procedural heads
// (below) or real videos (datasets/face_videos.h). Deterministic by index,
// so a resumed run sees the same samples.
class ReenactSource {
 public:
  virtual ~ReenactSource() = default;
  virtual Batch sample(int batch, uint64_t index) = 0;
  // [3,R,R] in [-1,1]: the image an identity is animated from.
  virtual torch::Tensor source(int identity) = 0;
  // The guide database written into a package: n frames of identity 0 (the avatar).
  virtual GuideFrames avatar_frames(int n) = 0;
};

// Seeds combined into one (order matters).
uint64_t mix_seed(uint64_t a, uint64_t b);

// Deterministic by (seed, identity, index).
class ProceduralHeads : public ReenactSource {
 public:
  ProceduralHeads(int resolution, int identities, int guide_frames, uint64_t seed);
  Batch sample(int batch, uint64_t step) override;
  // The source frame of an identity: frontal, neutral expression.
  torch::Tensor source(int identity) override;
  GuideFrames avatar_frames(int n) override { return frames(0, n, 7); }
  // n frames of one identity at sampled poses and expressions, with their keys.
  GuideFrames frames(int identity, int n, uint64_t salt) const;

 private:
  int resolution_, identities_, guide_frames_;
  uint64_t seed_;
  std::map<int, torch::Tensor> sources_;
  std::map<int, GuideFrames> guides_;
};

}  // namespace fiancee::reenact
