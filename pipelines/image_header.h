// The size of an encoded image read from its header, before any decoding, so
// that a small file that decodes to gigabytes (a "pixel bomb") is refused or
// decoded reduced instead of filling memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace fiancee {

struct ImageHeader {
  std::string format;  // "PNG", "JPEG", "BMP", "GIF", "WebP"
  int64_t width = 0;
  int64_t height = 0;
};

// PNG, JPEG, BMP, GIF and WebP headers; nullopt for any other format. A file
// that starts like one of these but whose header is cut or inconsistent
// throws InputError (the decoder would refuse it too).
std::optional<ImageHeader> probe_image_bytes(const uint8_t* data, size_t size);

}  // namespace fiancee
