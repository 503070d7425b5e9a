// Module weights <-> safetensors maps, strictly: loading requires exactly the
// module's parameter and buffer names with matching shapes.
#pragma once

#include <torch/nn/module.h>

#include <string>

#include "core/safetensors.h"

namespace fiancee::models {

// Prefix is prepended to every name ("predictor." ...). Buffers (BN stats) included.
safetensors::TensorMap state_of(const torch::nn::Module& module, const std::string& prefix = "");

// Copies `tensors[prefix + name]` into every parameter/buffer. Throws
// PackageError naming `origin` and the tensor when one is missing, has
// another shape, or when tensors with `prefix` are left unused.
void load_state(torch::nn::Module& module, const safetensors::TensorMap& tensors, const std::string& prefix,
                const std::string& origin);

}  // namespace fiancee::models
