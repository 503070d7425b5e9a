// Face front end: dlib detection + landmarks on real images, pose/expression/
// key layout, smoothing, the no-face policy and its errors.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "core/errors.h"
#include "pipelines/face_frontend.h"
#include "tests/fixtures.h"
#include "datasets/head_generator.h"

namespace fiancee {
namespace {

using face::FaceFrontEnd;
using face::FaceFrontEndOptions;
using face::FaceResult;
using face::FaceStatus;

// A frontal portrait (584x824) that Debian's opencv-doc ships with its HTML docs.
const char* kPortrait = "/usr/share/doc/opencv-doc/opencv4/html/230501201_1.jpg";
const char* kMegamind = "/usr/share/doc/opencv-doc/examples/data/Megamind.avi";

bool have(const char* path) { return bool(std::ifstream(path)); }

cv::Mat read_rgb(const char* path) {
  cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR), rgb;
  if (!bgr.empty()) cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

FaceResult run(FaceFrontEnd& fe, const cv::Mat& rgb) { return fe.process(rgb.data, rgb.cols, rgb.rows, int(rgb.step)); }

#define REQUIRE_MODEL() \
  if (!have(face::kDefaultShapeModelPath)) GTEST_SKIP() << "no " << face::kDefaultShapeModelPath << " (libdlib-data)"

TEST(FaceFrontEnd, MissingModelErrorNamesFileAndPackage) {
  FaceFrontEndOptions o;
  o.model_path = "/nonexistent/dir/shape_68.dat";
  try {
    FaceFrontEnd fe(o);
    FAIL() << "no error for a missing model";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("/nonexistent/dir/shape_68.dat"), std::string::npos) << msg;
    EXPECT_NE(msg.find("libdlib-data"), std::string::npos) << msg;
  }
}

TEST(FaceFrontEnd, ModelThatIsAFifoIsRefusedNotWaitedOn) {
  fiancee::testing::TempDir dir;
  FaceFrontEndOptions o;
  o.model_path = dir.file("shape.dat");
  ASSERT_EQ(::mkfifo(o.model_path.c_str(), 0600), 0);
  try {
    FaceFrontEnd fe(o);
    FAIL() << "a FIFO was accepted as the landmark model";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), "face landmark model " + o.model_path + ": is a FIFO, not a regular file");
  }
}

// dlib scans for faces of at least its 80-pixel window: frames narrower than
// that, also once a very wide or tall one is downscaled to detect_max_side,
// hold no face it could find. No face, never an error (the element passes them through).
TEST(FaceFrontEnd, TinyWideAndTallFramesHaveNoFace) {
  REQUIRE_MODEL();
  FaceFrontEnd fe;
  for (const cv::Size size : {cv::Size(1, 1000), cv::Size(1000, 1), cv::Size(4, 4096), cv::Size(4096, 4), cv::Size(1, 1),
                              cv::Size(79, 79), cv::Size(4096, 60)}) {
    const cv::Mat rgb(size, CV_8UC3, cv::Scalar(90, 120, 150));
    FaceResult r;
    ASSERT_NO_THROW(r = run(fe, rgb)) << size;
    EXPECT_EQ(r.status, FaceStatus::kNone) << size;
    ASSERT_NO_THROW(r = fe.detect(rgb.data, rgb.cols, rgb.rows, int(rgb.step))) << size;
    EXPECT_FALSE(r.has_face()) << size;
  }
}

TEST(FaceFrontEnd, RotationAnglesRoundTrip) {
  for (float yaw : {-50.f, -10.f, 0.f, 25.f})
    for (float pitch : {-30.f, 0.f, 15.f})
      for (float roll : {-20.f, 0.f, 35.f}) {
        const face::HeadAngles a = face::angles_from_rotation(face::rotation_from_angles({yaw, pitch, roll}));
        EXPECT_NEAR(a.yaw, yaw, 1e-3);
        EXPECT_NEAR(a.pitch, pitch, 1e-3);
        EXPECT_NEAR(a.roll, roll, 1e-3);
      }
}

TEST(FaceFrontEnd, KeyLayout) {
  std::array<float, face::kExprDim> e = face::kExprCentre;
  e[face::kMouthOpen] += face::kExprScale[face::kMouthOpen];
  const auto key = face::make_key({45.f, -22.5f, 9.f}, e);
  ASSERT_EQ(int(key.size()), face::kKeyDim);
  EXPECT_EQ(face::kKeyDim, 13);
  EXPECT_FLOAT_EQ(key[0], 1.f);
  EXPECT_FLOAT_EQ(key[1], -0.5f);
  EXPECT_FLOAT_EQ(key[2], 0.2f);
  EXPECT_FLOAT_EQ(key[3 + face::kMouthOpen], 1.f);
  for (int i = 1; i < face::kExprDim; ++i) EXPECT_FLOAT_EQ(key[3 + i], 0.f);
  const FaceResult none;
  EXPECT_FALSE(none.has_face());
  EXPECT_EQ(none.key(), std::vector<float>(face::kKeyDim, 0.f));
}

TEST(FaceFrontEnd, CropTransformPutsFaceOnTemplate) {
  headgen::HeadPose pose;
  pose.roll = 20;
  pose.shift_x = 0.1f;
  const face::Landmarks lm = headgen::project_landmarks(headgen::sample_identity(4), pose, {}, 320);
  const cv::Matx23f m = face::crop_transform(lm, 200);
  // A similarity: equal scales, no reflection.
  EXPECT_NEAR(m(0, 0), m(1, 1), 1e-5);
  EXPECT_NEAR(m(0, 1), -m(1, 0), 1e-5);
  EXPECT_GT(m(0, 0) * m(1, 1) - m(0, 1) * m(1, 0), 0.f);
  auto map = [&](cv::Point2f p) { return cv::Point2f(m(0, 0) * p.x + m(0, 1) * p.y + m(0, 2), m(1, 0) * p.x + m(1, 1) * p.y + m(1, 2)); };
  const auto& t = face::crop_template();
  cv::Point2f er(0, 0), el(0, 0);
  for (int i = 36; i < 42; ++i) er += lm[i] * (1.f / 6);
  for (int i = 42; i < 48; ++i) el += lm[i] * (1.f / 6);
  // Least squares over 5 points of another face shape: within 4% of the crop.
  EXPECT_LT(cv::norm(map(er) - t[0] * 200.f), 8.0);
  EXPECT_LT(cv::norm(map(el) - t[1] * 200.f), 8.0);
  EXPECT_LT(cv::norm(map(lm[30]) - t[2] * 200.f), 8.0);
  // The eyes come out level although the head is rolled.
  EXPECT_NEAR(map(er).y, map(el).y, 2.0);
}

TEST(FaceFrontEnd, RealPortraitGivesFrontalPose) {
  REQUIRE_MODEL();
  const cv::Mat rgb = read_rgb(kPortrait);
  if (rgb.empty()) GTEST_SKIP() << "no " << kPortrait << " (opencv-doc)";
  FaceFrontEnd fe;
  const FaceResult r = fe.detect(rgb.data, rgb.cols, rgb.rows, int(rgb.step));
  ASSERT_EQ(r.status, FaceStatus::kFresh);
  std::printf("[ report ] portrait: box %dx%d at (%d,%d), yaw %.1f pitch %.1f roll %.1f deg\n", r.box.width,
              r.box.height, r.box.x, r.box.y, r.angles.yaw, r.angles.pitch, r.angles.roll);
  EXPECT_LT(std::abs(r.angles.yaw), 30.f);
  EXPECT_LT(std::abs(r.angles.pitch), 30.f);
  EXPECT_LT(std::abs(r.angles.roll), 30.f);
  // The face fills a good part of this photo; landmarks lie around the box.
  EXPECT_GT(r.box.width, rgb.cols / 4);
  cv::Rect grown(r.box.x - r.box.width / 4, r.box.y - r.box.height / 4, r.box.width * 3 / 2, r.box.height * 3 / 2);
  for (const auto& p : r.landmarks) EXPECT_TRUE(grown.contains(cv::Point(p))) << p;
  // Open eyes, closed mouth, in the normalised key near the neutral range.
  EXPECT_GT(r.expression[face::kEyeOpenRight], 0.15f);
  EXPECT_GT(r.expression[face::kEyeOpenLeft], 0.15f);
  EXPECT_LT(r.expression[face::kMouthOpen], 0.1f);
  const auto key = r.key();
  ASSERT_EQ(int(key.size()), face::kKeyDim);
  for (float k : key) {
    EXPECT_TRUE(std::isfinite(k));
    EXPECT_LT(std::abs(k), 3.f);
  }
  EXPECT_EQ(r.crop_size, fe.options().crop_size);
}

TEST(FaceFrontEnd, HoldsLastGoodThenReportsNone) {
  REQUIRE_MODEL();
  const cv::Mat rgb = read_rgb(kPortrait);
  if (rgb.empty()) GTEST_SKIP() << "no " << kPortrait << " (opencv-doc)";
  FaceFrontEndOptions o;
  o.hold_frames = 3;
  FaceFrontEnd fe(o);
  const FaceResult first = run(fe, rgb);
  ASSERT_EQ(first.status, FaceStatus::kFresh);
  // The same scene with the face covered: held for 3 frames, then none.
  cv::Mat covered = rgb.clone();
  cv::Rect hide(first.box.x - first.box.width / 3, first.box.y - first.box.height / 3, first.box.width * 5 / 3,
                first.box.height * 5 / 3);
  cv::rectangle(covered, hide & cv::Rect(0, 0, rgb.cols, rgb.rows), cv::Scalar(128, 128, 128), cv::FILLED);
  for (int i = 1; i <= 3; ++i) {
    const FaceResult r = run(fe, covered);
    ASSERT_EQ(r.status, FaceStatus::kHeld) << "frame " << i;
    EXPECT_EQ(r.frames_since_fresh, i);
    EXPECT_TRUE(r.has_face());
    EXPECT_EQ(r.key(), first.key());
  }
  const FaceResult gone = run(fe, covered);
  EXPECT_EQ(gone.status, FaceStatus::kNone);
  EXPECT_FALSE(gone.has_face());
  EXPECT_STREQ(face::to_string(gone.status), "none");

  // The face comes back fresh; then a cut to a flat grey frame is a new scene:
  // nothing to hold, "none" at once.
  ASSERT_EQ(run(fe, rgb).status, FaceStatus::kFresh);
  const cv::Mat grey(rgb.size(), CV_8UC3, cv::Scalar(128, 128, 128));
  EXPECT_EQ(run(fe, grey).status, FaceStatus::kNone);
  // With scene-cut detection off, a grey frame is held like any other miss.
  o.scene_cut_level = 0;
  FaceFrontEnd no_cuts(o);
  ASSERT_EQ(run(no_cuts, rgb).status, FaceStatus::kFresh);
  EXPECT_EQ(run(no_cuts, grey).status, FaceStatus::kHeld);
}

cv::Point2f centroid(const face::Landmarks& l) {
  cv::Point2f c(0, 0);
  for (const auto& p : l) c += p;
  return c * (1.f / face::kNumLandmarks);
}

TEST(FaceFrontEnd, SmoothingDampsJitterAndResetsOnJumps) {
  REQUIRE_MODEL();
  const cv::Mat rgb = read_rgb(kPortrait);
  if (rgb.empty()) GTEST_SKIP() << "no " << kPortrait << " (opencv-doc)";
  auto shifted = [&](float dx) {
    cv::Mat out;
    cv::warpAffine(rgb, out, cv::Matx23f(1, 0, dx, 0, 1, 0), rgb.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
    return out;
  };
  FaceFrontEndOptions raw_o;
  raw_o.smooth = false;
  FaceFrontEnd raw(raw_o), smooth;
  float raw_lo = 1e9, raw_hi = -1e9, sm_lo = 1e9, sm_hi = -1e9;
  for (int i = 0; i < 8; ++i) {
    const cv::Mat f = shifted(i % 2 ? 3.f : -3.f);  // +-3 px shake
    const FaceResult a = run(raw, f), b = run(smooth, f);
    ASSERT_EQ(a.status, FaceStatus::kFresh);
    ASSERT_EQ(b.status, FaceStatus::kFresh);
    if (i < 4) continue;  // settle
    raw_lo = std::min(raw_lo, centroid(a.landmarks).x);
    raw_hi = std::max(raw_hi, centroid(a.landmarks).x);
    sm_lo = std::min(sm_lo, centroid(b.landmarks).x);
    sm_hi = std::max(sm_hi, centroid(b.landmarks).x);
  }
  std::printf("[ report ] +-3 px shake: raw landmark centroid swings %.2f px, smoothed %.2f px\n", raw_hi - raw_lo,
              sm_hi - sm_lo);
  EXPECT_GT(raw_hi - raw_lo, 4.f);
  EXPECT_LT(sm_hi - sm_lo, 0.5f * (raw_hi - raw_lo));
  // A jump of well over half an inter-ocular distance restarts the filter: no lag.
  const cv::Mat far = shifted(120.f);
  const FaceResult a = run(raw, far), b = run(smooth, far);
  ASSERT_EQ(b.status, FaceStatus::kFresh);
  EXPECT_LT(cv::norm(centroid(a.landmarks) - centroid(b.landmarks)), 1.0);
}

TEST(FaceFrontEnd, MegamindDetectionRate) {
  // Every 5th frame of the cartoon clip (full-clip numbers: docs/face-frontend.md).
  REQUIRE_MODEL();
  if (!have(kMegamind)) GTEST_SKIP() << "no " << kMegamind << " (opencv-doc)";
  cv::VideoCapture cap(kMegamind);
  if (!cap.isOpened()) GTEST_SKIP() << "OpenCV cannot decode " << kMegamind;
  FaceFrontEnd fe;
  cv::Mat bgr, rgb;
  int frames = 0, sampled = 0, found = 0;
  while (cap.read(bgr)) {
    if (frames++ % 5) continue;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    ++sampled;
    const FaceResult r = fe.detect(rgb.data, rgb.cols, rgb.rows, int(rgb.step));
    if (!r.has_face()) continue;
    ++found;
    for (float v : r.key()) ASSERT_TRUE(std::isfinite(v));
  }
  std::printf("[ report ] Megamind.avi: face in %d of %d sampled frames (%d frames in the clip)\n", found, sampled,
              frames);
  EXPECT_EQ(frames, 270);
  EXPECT_GE(found, sampled / 2);
}

TEST(FaceFrontEnd, TrackingBetweenDetectionsFollowsTheFace) {
  // The first 80 frames of the clip, detecting on every frame vs every 5th:
  // tracked landmarks must stay near the per-frame ones, and faces not get lost.
  REQUIRE_MODEL();
  if (!have(kMegamind)) GTEST_SKIP() << "no " << kMegamind << " (opencv-doc)";
  cv::VideoCapture cap(kMegamind);
  if (!cap.isOpened()) GTEST_SKIP() << "OpenCV cannot decode " << kMegamind;
  FaceFrontEndOptions every, fifth;
  fifth.redetect_every = 5;
  FaceFrontEnd a(every), b(fifth);
  cv::Mat bgr, rgb;
  int both = 0, only_a = 0;
  double err = 0;
  for (int i = 0; i < 80 && cap.read(bgr); ++i) {
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    const FaceResult ra = a.process(rgb.data, rgb.cols, rgb.rows, int(rgb.step));
    const FaceResult rb = b.process(rgb.data, rgb.cols, rgb.rows, int(rgb.step));
    if (ra.status != FaceStatus::kFresh) continue;
    if (rb.status != FaceStatus::kFresh) {
      ++only_a;
      continue;
    }
    ++both;
    cv::Point2f er, el;  // eye centres (iBUG 36-41, 42-47)
    for (int k = 0; k < 6; ++k) er += ra.landmarks[36 + k] / 6.f, el += ra.landmarks[42 + k] / 6.f;
    const double iod = cv::norm(er - el);
    for (int k = 0; k < face::kNumLandmarks; ++k) err += cv::norm(ra.landmarks[k] - rb.landmarks[k]) / iod / face::kNumLandmarks;
  }
  ASSERT_GT(both, 40);
  std::printf("[ report ] tracking every 5th: %d frames with a face in both, %d lost; mean landmark gap %.3f IOD\n", both, only_a,
              err / both);
  EXPECT_LE(only_a, both / 10);
  EXPECT_LT(err / both, 0.15);
}

TEST(ExpressionBaseline, MedianOfTheRecentWindowAndReset) {
  face::ExpressionBaseline b(3);
  EXPECT_EQ(b.median(), face::kExprCentre) << "an empty baseline is the key space's centre";
  auto e = face::kExprCentre;
  for (float v : {5.f, 1.f}) {
    e[face::kMouthOpen] = v;
    b.add(e);
  }
  EXPECT_FLOAT_EQ(b.median()[face::kMouthOpen], 3.f) << "even count: mean of the two middle values";
  for (float v : {9.f, 2.f}) {
    e[face::kMouthOpen] = v;
    b.add(e);
  }
  EXPECT_EQ(b.count(), 3) << "the window keeps the last 3";
  EXPECT_FLOAT_EQ(b.median()[face::kMouthOpen], 2.f) << "median of 1, 9, 2 (5 dropped)";
  EXPECT_FLOAT_EQ(b.median()[face::kSmile], face::kExprCentre[face::kSmile]);
  b.reset();
  EXPECT_EQ(b.count(), 0);
}

TEST(FaceFrontEnd, BaselineFollowsTheShotAndRestartsAtCuts) {
  REQUIRE_MODEL();
  if (!have(kMegamind)) GTEST_SKIP() << "no " << kMegamind << " (opencv-doc)";
  cv::VideoCapture cap(kMegamind);
  if (!cap.isOpened()) GTEST_SKIP() << "OpenCV cannot decode " << kMegamind;
  FaceFrontEndOptions o;
  o.baseline_frames = 30;
  FaceFrontEnd fe(o);
  cv::Mat bgr, rgb;
  int previous = 0, restarts = 0, fresh = 0;
  while (cap.read(bgr)) {
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    const FaceResult r = run(fe, rgb);
    if (r.status != FaceStatus::kFresh) continue;
    ++fresh;
    ASSERT_GE(r.baseline_frames, 1);
    ASSERT_LE(r.baseline_frames, 30);
    if (r.baseline_frames <= previous) restarts += r.baseline_frames == 1;
    if (r.baseline_frames == 1) EXPECT_EQ(r.expression_baseline, r.expression) << "a new shot starts from its first frame";
    previous = r.baseline_frames;
  }
  EXPECT_GT(fresh, 100);
  EXPECT_GE(restarts, 1) << "the clip has scene cuts";
}

}  // namespace
}  // namespace fiancee
