#include "pipelines/image_header.h"

#include <cstring>

#include "core/errors.h"

namespace fiancee {

namespace {

uint32_t be16(const uint8_t* p) { return (uint32_t{p[0]} << 8) | p[1]; }
uint32_t be32(const uint8_t* p) { return (be16(p) << 16) | be16(p + 2); }
uint32_t le16(const uint8_t* p) { return (uint32_t{p[1]} << 8) | p[0]; }
uint32_t le24(const uint8_t* p) { return (uint32_t{p[2]} << 16) | le16(p); }
uint32_t le32(const uint8_t* p) { return (le24(p + 1) << 8) | p[0]; }

bool starts(const uint8_t* data, size_t size, const char* magic, size_t offset = 0) {
  const size_t n = std::strlen(magic);
  return size >= offset + n && std::memcmp(data + offset, magic, n) == 0;
}

[[noreturn]] void broken(const std::string& format, const std::string& why) {
  throw InputError("broken " + format + " header: " + why);
}

ImageHeader sized(const char* format, int64_t width, int64_t height) {
  if (width <= 0 || height <= 0)
    broken(format, "size " + std::to_string(width) + "x" + std::to_string(height));
  return {format, width, height};
}

ImageHeader png(const uint8_t* d, size_t n) {
  // Signature, then the IHDR chunk: length, "IHDR", width, height.
  if (n < 24 || !starts(d, n, "IHDR", 12)) broken("PNG", "no IHDR chunk first");
  return sized("PNG", be32(d + 16), be32(d + 20));
}

ImageHeader jpeg(const uint8_t* d, size_t n) {
  // Walk the marker segments up to the first start-of-frame (SOF0..SOF15 but
  // DHT C4, JPG C8 and DAC CC), which holds height then width.
  size_t i = 2;
  while (i + 4 <= n) {
    if (d[i] != 0xFF) broken("JPEG", "no marker at byte " + std::to_string(i));
    const uint8_t marker = d[i + 1];
    if (marker == 0xFF) { ++i; continue; }  // fill byte
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) { i += 2; continue; }  // no length
    if (marker == 0xD9 || marker == 0xDA) broken("JPEG", "image data before any frame header");
    const uint32_t length = be16(d + i + 2);
    if (length < 2) broken("JPEG", "segment length " + std::to_string(length));
    const bool sof = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    if (sof) {
      if (length < 7 || i + 9 > n) broken("JPEG", "frame header cut short");
      return sized("JPEG", be16(d + i + 7), be16(d + i + 5));
    }
    i += 2 + length;
  }
  broken("JPEG", "no frame header in the file");
}

ImageHeader bmp(const uint8_t* d, size_t n) {
  if (n < 26) broken("BMP", "cut short");
  const uint32_t info = le32(d + 14);
  if (info == 12) return sized("BMP", le16(d + 18), le16(d + 20));  // OS/2 core header
  // Height is negative for top-down images.
  const auto w = static_cast<int32_t>(le32(d + 18));
  const auto h = static_cast<int32_t>(le32(d + 22));
  return sized("BMP", w, h < 0 ? -int64_t{h} : h);
}

ImageHeader webp(const uint8_t* d, size_t n) {
  if (n < 30) broken("WebP", "cut short");
  if (starts(d, n, "VP8 ", 12)) {
    if (!(d[23] == 0x9d && d[24] == 0x01 && d[25] == 0x2a)) broken("WebP", "bad VP8 start code");
    return sized("WebP", le16(d + 26) & 0x3fff, le16(d + 28) & 0x3fff);
  }
  if (starts(d, n, "VP8L", 12)) {
    if (d[20] != 0x2f) broken("WebP", "bad VP8L signature");
    const uint32_t bits = le32(d + 21);
    return sized("WebP", (bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1);
  }
  if (starts(d, n, "VP8X", 12)) return sized("WebP", int64_t{le24(d + 24)} + 1, int64_t{le24(d + 27)} + 1);
  broken("WebP", "unknown chunk");
}

}  // namespace

std::optional<ImageHeader> probe_image_bytes(const uint8_t* data, size_t size) {
  if (starts(data, size, "\x89PNG\r\n\x1a\n")) return png(data, size);
  if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) return jpeg(data, size);
  if (starts(data, size, "BM")) return bmp(data, size);
  if (starts(data, size, "GIF87a") || starts(data, size, "GIF89a")) {
    if (size < 10) broken("GIF", "cut short");
    return sized("GIF", le16(data + 6), le16(data + 8));
  }
  if (starts(data, size, "RIFF") && starts(data, size, "WEBP", 8)) return webp(data, size);
  return std::nullopt;
}

}  // namespace fiancee
