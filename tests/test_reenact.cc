// The bundled avatar package through the reenactment pipeline on a real clip.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <filesystem>
#include <set>

#include "core/package.h"
#include "pipelines/reenact.h"

namespace {
const std::string kPackage = std::string(FIANCEE_SOURCE_DIR) + "/assets/avatar-demo";
const std::string kClip = "/usr/share/doc/opencv-doc/examples/data/Megamind.avi";
}  // namespace

TEST(BundledAvatar, ManifestAndHashesValidate) {
  auto pkg = fiancee::Package::open(kPackage);  // throws on any hash mismatch
  EXPECT_FALSE(pkg.manifest().untrained);
  EXPECT_EQ(pkg.manifest().pipeline, "reenact");
  EXPECT_GE(pkg.manifest().num_exits(), 4);
  EXPECT_GE(pkg.manifest().scale_factors.size(), 2u);
}

TEST(BundledAvatar, MidThresholdUsesSeveralExitsOnARealClip) {
  if (!std::filesystem::exists(kClip)) GTEST_SKIP() << kClip << " missing (Debian package opencv-doc)";
  fiancee::ReenactOptions o;
  o.model_location = kPackage;
  o.source_location = kPackage + "/source.png";
  auto pipeline = fiancee::make_reenact_pipeline(o);
  cv::VideoCapture video(kClip);
  ASSERT_TRUE(video.isOpened());
  std::set<int> exits;
  int rendered = 0;
  cv::Mat bgr, rgb;
  for (int i = 0; i < 60 && video.read(bgr); ++i) {
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    cv::Mat out(rgb.size(), rgb.type());
    fiancee::ImageView in{rgb.data, rgb.cols, rgb.rows, static_cast<int>(rgb.step), 3};
    fiancee::ImageView dst{out.data, out.cols, out.rows, static_cast<int>(out.step), 3};
    fiancee::RouteSettings s;
    s.quality_threshold = 0.1;
    fiancee::FrameReport r;
    pipeline->process(in, dst, s, r);
    if (r.passthrough) continue;
    ++rendered;
    exits.insert(r.exit);
    EXPECT_LT(r.gflops, r.backbone_gflops * 1.0001);
  }
  EXPECT_GE(rendered, 40) << "the front end should find the face in most of these frames";
  EXPECT_GE(exits.size(), 2u) << "a mid threshold should route frames to more than one exit";
}
