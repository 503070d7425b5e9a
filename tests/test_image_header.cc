// Image sizes read from headers before decoding (pipelines/image_header.h).
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

#include <string>
#include <vector>

#include "core/errors.h"
#include "pipelines/image_header.h"

namespace fiancee {
namespace {

std::vector<uint8_t> encode(const std::string& ext, int width, int height) {
  std::vector<uint8_t> bytes;
  EXPECT_TRUE(cv::imencode(ext, cv::Mat(height, width, CV_8UC3, cv::Scalar(10, 200, 30)), bytes)) << ext;
  return bytes;
}

TEST(ImageHeader, ReadsTheSizeOfEveryProbedFormat) {
  for (const char* ext : {".png", ".jpg", ".bmp", ".webp"}) {
    const auto bytes = encode(ext, 123, 45);
    const auto h = probe_image_bytes(bytes.data(), bytes.size());
    ASSERT_TRUE(h.has_value()) << ext;
    EXPECT_EQ(h->width, 123) << ext;
    EXPECT_EQ(h->height, 45) << ext;
  }
  // GIF: OpenCV 4.6 writes none; the 10-byte screen descriptor is enough.
  const std::string gif = std::string("GIF89a") + "\x10\x27\x20\x4e";
  const auto h = probe_image_bytes(reinterpret_cast<const uint8_t*>(gif.data()), gif.size());
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->width, 10000);
  EXPECT_EQ(h->height, 20000);
}

TEST(ImageHeader, ExifBeforeTheFrameHeaderIsSkipped) {
  auto jpeg = encode(".jpg", 64, 32);
  // An APP1 segment of 1000 bytes right after SOI, as cameras write EXIF.
  std::vector<uint8_t> app1{0xFF, 0xE1, 0x03, 0xEA};
  app1.resize(2 + 1002, 0);
  jpeg.insert(jpeg.begin() + 2, app1.begin(), app1.end());
  const auto h = probe_image_bytes(jpeg.data(), jpeg.size());
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->width, 64);
  EXPECT_EQ(h->height, 32);
}

TEST(ImageHeader, UnknownFormatsAreLeftToTheDecoder) {
  const std::string text = "not an image at all";
  EXPECT_FALSE(probe_image_bytes(reinterpret_cast<const uint8_t*>(text.data()), text.size()).has_value());
  EXPECT_FALSE(probe_image_bytes(nullptr, 0).has_value());
}

TEST(ImageHeader, CutHeadersAreInputErrors) {
  for (const char* ext : {".png", ".jpg", ".webp"}) {
    const auto bytes = encode(ext, 20, 20);
    for (size_t keep : {size_t{12}, size_t{20}})
      EXPECT_THROW(probe_image_bytes(bytes.data(), keep), InputError) << ext << " cut to " << keep;
  }
  const std::string zero_png = std::string("\x89PNG\r\n\x1a\n", 8) + std::string("\0\0\0\x0dIHDR", 8) + std::string(8, '\0');
  EXPECT_THROW(probe_image_bytes(reinterpret_cast<const uint8_t*>(zero_png.data()), zero_png.size()), InputError);
}

}  // namespace
}  // namespace fiancee
