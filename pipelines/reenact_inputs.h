// How the reenactment pipeline turns a source image and a driver's key into
// the backbone input. Shared by the runtime and the training and database
// tools, so both compute exactly the same thing.
#pragma once

#include <torch/types.h>

#include <vector>

#include "pipelines/face_frontend.h"

namespace fiancee {
class GuideDatabase;
}

namespace fiancee::reenact {

// Head pose (3 angles / 45 degrees) + landmark expression features; see docs/face-frontend.md.
constexpr int kKeyDim = face::kKeyDim;

// Source image [1 or N,3,H,W] and keys [N,kKeyDim] -> [N,3+kKeyDim,H,W]: the
// key is broadcast as constant planes, so the front sees appearance and motion together.
torch::Tensor backbone_input(const torch::Tensor& source, const torch::Tensor& key);

// The avatar's typical expression (face::kExprDim values, key units) that
// relative expression transfer starts from: the per-feature median over the
// guide database, whose frames show the avatar; the key space's centre (zeros)
// without a database.
std::vector<float> avatar_typical_expression(const GuideDatabase* database);

// The key of an image from its 68 landmarks, as the front end computes it: [kKeyDim].
torch::Tensor key_from_landmarks(const face::Landmarks& landmarks, int width, int height);

}  // namespace fiancee::reenact
