#include "core/device.h"

#include <torch/cuda.h>

#include "core/errors.h"

namespace fiancee {

torch::Device resolve_device(Device device) {
  const bool cuda = torch::cuda::is_available();
  switch (device) {
    case Device::Cpu: return torch::kCPU;
    case Device::Cuda:
      if (!cuda)
        throw UnavailableError("device=cuda requested but this LibTorch has no CUDA support or no GPU is visible "
                               "(build with -Dlibtorch_dir=<CUDA LibTorch>, see docs/benchmarks.md)");
      return torch::Device(torch::kCUDA, 0);
    case Device::Auto: break;
  }
  return cuda ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
}

bool built_with_cuda() {
#ifdef FIANCEE_CUDA_BUILD
  return true;
#else
  return false;
#endif
}

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

}  // namespace fiancee
