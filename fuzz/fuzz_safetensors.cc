// libFuzzer harness: the strict safetensors reader (core/safetensors.h).
// The input bytes become a file (an anonymous memfd, read through
// /proc/self/fd/N so that load() opens, stats and preads it like a real file)
// and safetensors::load must return tensors or throw a fiancee::Error
// (PackageError naming the file). Any other exception (c10::Error from
// LibTorch, std::bad_alloc, nlohmann::json::exception), crash, leak or
// undefined behaviour is a finding. Built and run by scripts/fuzz.sh.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/errors.h"
#include "core/safetensors.h"

namespace {

void write_all(int fd, const uint8_t* data, size_t size) {
  while (size > 0) {
    const ssize_t put = ::write(fd, data, size);
    if (put <= 0) {
      std::perror("fuzz_safetensors: write to memfd");
      std::abort();
    }
    data += put;
    size -= static_cast<size_t>(put);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int fd = ::memfd_create("fuzz-safetensors", MFD_CLOEXEC);
  if (fd < 0) {
    std::perror("fuzz_safetensors: memfd_create");
    std::abort();
  }
  write_all(fd, data, size);
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  try {
    fiancee::safetensors::Metadata metadata;
    const auto tensors = fiancee::safetensors::load(path, &metadata);
    // Touch every tensor as a caller would (sizes, bytes).
    int64_t total = 0;
    for (const auto& [name, t] : tensors) total += t.numel() * static_cast<int64_t>(t.element_size());
    (void)total;
  } catch (const fiancee::Error&) {
    // The documented failure: a typed error naming the file.
  }
  ::close(fd);
  return 0;
}
