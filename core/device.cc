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

torch::Tensor to_device(const torch::Tensor& host, const torch::Device& device, torch::ScalarType dtype) {
  if (!device.is_cuda() || !host.device().is_cpu()) return host.to(device, dtype);
  // pin_memory() draws on LibTorch's caching host allocator: after the first
  // frame of a size it reuses the same page-locked block.
  return host.pin_memory().to(device, dtype, /*non_blocking=*/true);
}

torch::Tensor to_host(const torch::Tensor& t) {
  if (!t.device().is_cuda()) return t;
  auto host = torch::empty(t.sizes(), t.options().device(torch::kCPU).pinned_memory(true));
  host.copy_(t, /*non_blocking=*/true);
  synchronize(t.device());
  return host;
}

}  // namespace fiancee
