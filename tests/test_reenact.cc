// The bundled avatar packages (128x128 and 256x256) through the reenactment
// pipeline on a real clip.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <cstdio>
#include <filesystem>
#include <set>

#include "core/guide_db.h"
#include "core/package.h"
#include "pipelines/face_frontend.h"
#include "pipelines/reenact.h"
#include "pipelines/reenact_inputs.h"

namespace {
const std::string kClip = "/usr/share/doc/opencv-doc/examples/data/Megamind.avi";

struct Bundled {
  const char* name;
  int resolution;
  double mid_threshold;  // inside the range where the package's routing mixes exits (docs/results.md)
};

class BundledAvatar : public ::testing::TestWithParam<Bundled> {
 protected:
  std::string dir() const { return std::string(FIANCEE_SOURCE_DIR) + "/assets/" + GetParam().name; }
};

INSTANTIATE_TEST_SUITE_P(Packages, BundledAvatar,
                         ::testing::Values(Bundled{"avatar-demo", 128, 0.1}, Bundled{"avatar-256", 256, 0.03}),
                         [](const auto& info) { return std::to_string(info.param.resolution); });
}  // namespace

TEST_P(BundledAvatar, ManifestAndHashesValidate) {
  auto pkg = fiancee::Package::open(dir());  // throws on any hash mismatch
  EXPECT_FALSE(pkg.manifest().untrained);
  EXPECT_EQ(pkg.manifest().pipeline, "reenact");
  EXPECT_EQ(pkg.manifest().output.width, GetParam().resolution);
  EXPECT_GE(pkg.manifest().num_exits(), 4);
  EXPECT_GE(pkg.manifest().scale_factors.size(), 2u);
}

TEST_P(BundledAvatar, MidThresholdUsesSeveralExitsOnARealClip) {
  if (!std::filesystem::exists(kClip)) GTEST_SKIP() << kClip << " missing (Debian package opencv-doc)";
  fiancee::ReenactOptions o;
  o.model_location = dir();
  o.source_location = dir() + "/source.png";
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
    s.quality_threshold = GetParam().mid_threshold;
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

TEST_P(BundledAvatar, RelativeTransferKeepsARealDriverNearTheAvatarsKeys) {
  // The cartoon driver's landmark geometry (eye shape, brows, jaw) differs
  // from the procedural avatar's: absolute keys land far from anything the
  // avatar's database (and training) holds; relative ones should not.
  if (!std::filesystem::exists(kClip)) GTEST_SKIP() << kClip << " missing (Debian package opencv-doc)";
  const auto db = fiancee::Package::open(dir()).guide_database();
  ASSERT_TRUE(db);
  const auto typical = fiancee::reenact::avatar_typical_expression(db.get());
  fiancee::face::FaceFrontEnd fe;
  cv::VideoCapture video(kClip);
  ASSERT_TRUE(video.isOpened());
  std::vector<float> absolute, relative;
  cv::Mat bgr, rgb;
  for (int i = 0; i < 120 && video.read(bgr); ++i) {
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    const auto r = fe.process(rgb.data, rgb.cols, rgb.rows, static_cast<int>(rgb.step));
    if (r.status != fiancee::face::FaceStatus::kFresh) continue;
    const auto a = r.key(), b = r.relative_key(typical);
    absolute.insert(absolute.end(), a.begin(), a.end());
    relative.insert(relative.end(), b.begin(), b.end());
  }
  ASSERT_GT(absolute.size(), 50u * fiancee::face::kKeyDim);
  auto nearest = [&](std::vector<float>& keys) {
    auto k = torch::from_blob(keys.data(), {static_cast<int64_t>(keys.size()) / fiancee::face::kKeyDim, fiancee::face::kKeyDim});
    return std::get<0>(torch::cdist(k, db->keys()).min(1)).mean().item<double>();
  };
  const double to_absolute = nearest(absolute), to_relative = nearest(relative);
  std::printf("[ report ] mean distance of Megamind keys to the avatar's nearest database key: absolute %.3f, relative %.3f\n",
              to_absolute, to_relative);
  EXPECT_LT(to_relative, 0.75 * to_absolute);
}
