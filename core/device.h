#pragma once

#include <torch/types.h>

#include "core/frame_report.h"

namespace fiancee {

// auto -> CUDA when this LibTorch has it and a GPU is visible, else CPU.
// Cuda without CUDA -> UnavailableError saying why.
torch::Device resolve_device(Device device);
// Whether this build links a CUDA LibTorch (meson -Dlibtorch_dir=<CUDA LibTorch>).
bool built_with_cuda();
// Waits for queued GPU work so wall times mean something; no-op on CPU.
void synchronize(const torch::Device& device);

}  // namespace fiancee
