// How the reenactment pipeline turns frames into backbone inputs and guide
// keys. Shared by the runtime and the tools that build packages and
// databases, so both compute exactly the same thing.
#pragma once

#include <torch/types.h>

namespace fiancee::reenact {

// Until the face front end lands, the key is a coarse appearance descriptor
// of the driver frame: its 4x4 average-pooled RGB (48 values). Documented as
// a placeholder in docs/package-format.md.
constexpr int kKeyDim = 48;
torch::Tensor driver_key(const torch::Tensor& driver);  // [N,3,H,W] -> [N,48]

// Backbone input: driver and source images stacked on channels ([N,6,H,W]).
torch::Tensor backbone_input(const torch::Tensor& driver, const torch::Tensor& source);

}  // namespace fiancee::reenact
