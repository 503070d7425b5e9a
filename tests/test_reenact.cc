// The bundled one-shot package (assets/refiner-256) through the reenactment
// pipeline: a real photo animated by a real clip must still show a face
// (checked by an independent detector run on the output), and routing must
// use more than one exit.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <cstdio>
#include <filesystem>
#include <algorithm>
#include <functional>
#include <set>
#include <vector>

#include "core/defaults.h"
#include "core/package.h"
#include "pipelines/face_frontend.h"
#include "pipelines/reenact.h"
#include "pipelines/reenact_inputs.h"

namespace {
const std::string kClip = "/usr/share/doc/opencv-doc/examples/data/Megamind.avi";
// A real portrait from opencv-doc (also used by the front end's tests; not an evaluation photo).
const std::string kPortrait = "/usr/share/doc/opencv-doc/opencv4/html/230501201_1.jpg";
const std::string kPackage = std::string(FIANCEE_SOURCE_DIR) + "/assets/refiner-256";

bool have(const std::string& p) { return std::filesystem::exists(p); }
}  // namespace

TEST(BundledRefiner, ManifestAndHashesValidate) {
  auto pkg = fiancee::Package::open(kPackage);  // throws on any hash mismatch
  const auto& m = pkg.manifest();
  EXPECT_FALSE(m.untrained);
  EXPECT_EQ(m.pipeline, "reenact");
  EXPECT_EQ(m.input.channels, fiancee::reenact::kRefinerInputChannels);
  EXPECT_GE(m.output.width, 256);
  EXPECT_GE(m.num_exits(), 4);
  EXPECT_GE(m.scale_factors.size(), 2u);
}

// Runs the first 60 frames of the clip through a fresh pipeline at this
// threshold; calls f(frame index, output frame, report) for frames it renders.
void drive(double threshold, const std::function<void(int, const cv::Mat&, const fiancee::FrameReport&)>& f) {
  fiancee::ReenactOptions o;
  o.model_location = kPackage;
  o.source_location = kPortrait;
  auto pipeline = fiancee::make_reenact_pipeline(o);
  cv::VideoCapture video(kClip);
  ASSERT_TRUE(video.isOpened());
  cv::Mat bgr, rgb;
  for (int i = 0; i < 60 && video.read(bgr); ++i) {
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    cv::Mat out(rgb.size(), rgb.type());
    fiancee::ImageView in{rgb.data, rgb.cols, rgb.rows, static_cast<int>(rgb.step), 3};
    fiancee::ImageView dst{out.data, out.cols, out.rows, static_cast<int>(out.step), 3};
    fiancee::RouteSettings s;
    s.quality_threshold = threshold;
    fiancee::FrameReport r;
    pipeline->process(in, dst, s, r);
    if (!r.passthrough) f(i, out, r);
  }
}

TEST(BundledRefiner, RealPhotoStaysAFaceAndRoutingMixesExits) {
  if (!have(kClip) || !have(kPortrait) || !have(fiancee::face::kDefaultShapeModelPath))
    GTEST_SKIP() << "needs opencv-doc (Megamind.avi, a portrait) and libdlib-data";
  fiancee::face::FaceFrontEnd checker;  // independent of the pipeline's own front end
  int rendered = 0, faces = 0;
  std::vector<double> cheapest;  // exit 0's predicted distance per frame
  drive(fiancee::defaults::kQualityThreshold, [&](int i, const cv::Mat& out, const fiancee::FrameReport& r) {
    ++rendered;
    cheapest.push_back(r.predicted[0]);
    EXPECT_LT(r.gflops, r.backbone_gflops * 1.0001);
    if (i % 3 == 0) faces += checker.detect(out.data, out.cols, out.rows, static_cast<int>(out.step)).has_face() ? 1 : 0;
  });
  EXPECT_GE(rendered, 40) << "the front end should find the driver's face in most of these frames";
  EXPECT_GE(faces, 16) << "the output must still show a face";
  // A threshold at the median of exit 0's predictions must send some frames
  // elsewhere: the predictor tells frames apart on a real photo and clip.
  std::sort(cheapest.begin(), cheapest.end());
  const double median = cheapest[cheapest.size() / 2];
  std::set<int> exits;
  drive(median, [&](int, const cv::Mat&, const fiancee::FrameReport& r) { exits.insert(r.exit); });
  std::printf("[ report ] portrait driven by Megamind.avi: %d frames rendered, face found on %d of %d checked; "
              "at threshold %.4f (median of exit 0's predictions) %zu exits used\n", rendered, faces, (rendered + 2) / 3, median, exits.size());
  EXPECT_GE(exits.size(), 2u);
}
