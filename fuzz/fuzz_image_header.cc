// libFuzzer harness: the image header probe (pipelines/image_header.h).
// probe_image_bytes must return nullopt (not an image format it knows), a
// header, or throw a fiancee::Error (InputError: a known format with a broken
// header). Any other exception, any crash, leak or undefined behaviour is a
// finding, and so is a header with no format name or a negative size.
// Built and run by scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "core/errors.h"
#include "pipelines/image_header.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto header = fiancee::probe_image_bytes(data, size);
    if (header && (header->format.empty() || header->width < 0 || header->height < 0)) {
      std::fprintf(stderr, "fuzz_image_header: probe returned format '%s' %lldx%lld\n", header->format.c_str(),
                   static_cast<long long>(header->width), static_cast<long long>(header->height));
      std::abort();
    }
  } catch (const fiancee::Error&) {
    // The documented failure (InputError) for a known format with a broken header.
  }
  return 0;
}
