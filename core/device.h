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
// A host tensor onto `device` in `dtype`. To a GPU it goes through page-locked
// (pinned) memory without blocking the host, so the copy overlaps the work
// already queued; elsewhere it is a plain conversion.
torch::Tensor to_device(const torch::Tensor& host, const torch::Device& device, torch::ScalarType dtype);
// A tensor onto the host. From a GPU: one non-blocking copy into pinned memory
// and one wait for the device, the only synchronisation a frame needs.
torch::Tensor to_host(const torch::Tensor& t);

}  // namespace fiancee
