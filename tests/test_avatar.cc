// Avatar set-up from any photo and the output framing (pipelines/avatar.h).
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/errors.h"
#include "datasets/head_generator.h"
#include "pipelines/avatar.h"
#include "tests/fixtures.h"

namespace fiancee {
namespace {

#define REQUIRE_MODEL()                                               \
  if (!std::filesystem::exists(face::kDefaultShapeModelPath)) GTEST_SKIP() << "no " << face::kDefaultShapeModelPath << " (libdlib-data)"

// A procedural head (RGB8) in a wider photo with a plain backdrop.
cv::Mat photo(int width, int height, int head = 256) {
  const cv::Mat face = headgen::render(headgen::sample_identity(5), {}, {}, head);
  cv::Mat out(height, width, CV_8UC3, cv::Scalar(90, 120, 150));
  face.copyTo(out(cv::Rect((width - head) / 2, (height - head) / 2, head, head)));
  return out;
}

void save(const std::string& path, const cv::Mat& rgb_or_other, int code = cv::COLOR_RGB2BGR) {
  cv::Mat m;
  if (code >= 0) cv::cvtColor(rgb_or_other, m, code); else m = rgb_or_other;
  ASSERT_TRUE(cv::imwrite(path, m));
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

TEST(Avatar, CropHasTheFaceWhereTheTemplateSays) {
  REQUIRE_MODEL();
  Avatar a(photo(480, 360), "test photo", 128, "");
  ASSERT_EQ(a.crop().size(), cv::Size(128, 128));
  cv::Point2f er(0, 0), el(0, 0);
  for (int i = 36; i < 42; ++i) er += a.landmarks()[i] * (1.f / 6);
  for (int i = 42; i < 48; ++i) el += a.landmarks()[i] * (1.f / 6);
  const auto& t = face::crop_template();
  EXPECT_LT(cv::norm(er - t[0] * 128.f), 6.0);
  EXPECT_LT(cv::norm(el - t[1] * 128.f), 6.0);
}

TEST(Avatar, PhotoWithoutAFaceIsAnErrorNamingIt) {
  REQUIRE_MODEL();
  testing::TempDir dir;
  cv::Mat wall(300, 400, CV_8UC3);
  cv::randu(wall, 0, 255);
  save(dir.file("wall.png"), wall);
  const auto msg = message_of([&] { Avatar(dir.file("wall.png"), 128, ""); });
  EXPECT_NE(msg.find("wall.png"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no face"), std::string::npos) << msg;
  // Missing and unreadable files are named too.
  EXPECT_THROW(Avatar(dir.file("absent.png"), 128, ""), NotFoundError);
  { std::ofstream(dir.file("junk.png")) << "not an image"; }
  EXPECT_NE(message_of([&] { Avatar(dir.file("junk.png"), 128, ""); }).find("junk.png"), std::string::npos);
  // A photo too small to hold a findable face.
  cv::Mat tiny;
  cv::resize(photo(480, 360), tiny, cv::Size(24, 18), 0, 0, cv::INTER_AREA);
  save(dir.file("tiny.png"), tiny);
  EXPECT_NE(message_of([&] { Avatar(dir.file("tiny.png"), 128, ""); }).find("no face"), std::string::npos);
}

TEST(Avatar, GreyRgbaAndSixteenBitPhotosWork) {
  REQUIRE_MODEL();
  testing::TempDir dir;
  const cv::Mat rgb = photo(400, 400);
  cv::Mat grey, bgra, wide;
  cv::cvtColor(rgb, grey, cv::COLOR_RGB2GRAY);
  save(dir.file("grey.png"), grey, -1);
  cv::cvtColor(rgb, bgra, cv::COLOR_RGB2BGRA);
  for (int y = 0; y < 40; ++y)  // a transparent band: flattened onto grey
    for (int x = 0; x < bgra.cols; ++x) bgra.at<cv::Vec4b>(y, x)[3] = 0;
  save(dir.file("rgba.png"), bgra, -1);
  rgb.convertTo(wide, CV_16UC3, 257);
  cv::cvtColor(wide, wide, cv::COLOR_RGB2BGR);
  save(dir.file("deep.png"), wide, -1);
  for (const char* name : {"grey.png", "rgba.png", "deep.png"}) {
    const cv::Mat m = read_rgb8(dir.file(name), "source-location");
    EXPECT_EQ(m.type(), CV_8UC3) << name;
    EXPECT_NO_THROW(Avatar(dir.file(name), 128, "")) << name;
  }
  EXPECT_EQ(read_rgb8(dir.file("rgba.png"), "x").at<cv::Vec3b>(5, 5), cv::Vec3b(128, 128, 128));
}

TEST(Avatar, HugePhotoIsScaledDown) {
  REQUIRE_MODEL();
  cv::Mat big;
  cv::resize(photo(480, 360), big, cv::Size(6000, 4500), 0, 0, cv::INTER_LINEAR);
  Avatar a(big, "huge photo", 128, "");
  EXPECT_EQ(a.crop().cols, 128);
}

TEST(Avatar, ComposeFillsTheOutputWithTheAspectKept) {
  REQUIRE_MODEL();
  Avatar a(photo(480, 360), "test photo", 128, "");
  for (const cv::Size size : {cv::Size(640, 360), cv::Size(240, 320), cv::Size(128, 128)}) {
    cv::Mat out(size, CV_8UC3, cv::Scalar(0, 0, 0));
    a.compose(a.crop(), {out.data, out.cols, out.rows, int(out.step), 3});
    // No bars: every row and column shows the photo (its backdrop is not black).
    cv::Mat grey;
    cv::cvtColor(out, grey, cv::COLOR_RGB2GRAY);
    double lo = 0;
    cv::Mat row_min, col_min;
    cv::reduce(grey, row_min, 1, cv::REDUCE_MAX);
    cv::reduce(grey, col_min, 0, cv::REDUCE_MAX);
    cv::minMaxLoc(row_min, &lo);
    EXPECT_GT(lo, 20.0) << size;
    cv::minMaxLoc(col_min, &lo);
    EXPECT_GT(lo, 20.0) << size;
    // The face is centred: the crop's centre lands near the frame's centre.
    const cv::Point2f c = a.to_output({64.f, 64.f}, size);
    EXPECT_NEAR(c.x, size.width / 2.0, size.width * 0.1) << size;
  }
}

// A 30000x30000 PNG header: refused from the header, never decoded.
TEST(Avatar, PixelBombIsRefusedBeforeDecoding) {
  testing::TempDir dir;
  std::string png("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\x75\x30\0\0\x75\x30\x08\x02\0\0\0", 29);
  png += std::string(4 + 64, '\0');  // CRC and a stub of data the decoder never sees
  std::ofstream(dir.file("bomb.png"), std::ios::binary) << png;
  const std::string msg = message_of([&] { read_rgb8(dir.file("bomb.png"), "source-location"); });
  EXPECT_NE(msg.find("source-location '" + dir.file("bomb.png") + "'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("30000x30000 pixels is more than the 64 megapixels"), std::string::npos) << msg;
}

// A JPEG over the pixel cap is decoded at the largest reduced scale that fits.
TEST(Avatar, HugeJpegIsDecodedReduced) {
  testing::TempDir dir;
  const cv::Mat big(8200, 8200, CV_8UC3, cv::Scalar(40, 90, 160));
  ASSERT_TRUE(cv::imwrite(dir.file("big.jpg"), big));
  const cv::Mat m = read_rgb8(dir.file("big.jpg"), "source-location");
  EXPECT_EQ(m.size(), cv::Size(4100, 4100));
  EXPECT_EQ(m.type(), CV_8UC3);
}

TEST(Avatar, SpecialFilesAreRefusedByName) {
  testing::TempDir dir;
  const std::string fifo = dir.file("photo.png");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(message_of([&] { read_rgb8(fifo, "source-location"); }),
            "source-location '" + fifo + "': is a FIFO, not a regular file");
  EXPECT_EQ(message_of([&] { read_rgb8("/dev/zero", "source-location"); }),
            "source-location '/dev/zero': is a character device, not a regular file");
  EXPECT_EQ(message_of([&] { read_rgb8(dir.path(), "source-location"); }),
            "source-location '" + dir.path() + "': is a directory, not a regular file");
  EXPECT_THROW(read_rgb8(dir.file("absent.png"), "source-location"), NotFoundError);
}

}  // namespace
}  // namespace fiancee
