// The analytic warp (pipelines/warp.h) and the motion front (pipelines/motion.h).
#include <gtest/gtest.h>

#include <limits>

#include <opencv2/imgproc.hpp>

#include "core/errors.h"
#include "datasets/head_generator.h"
#include "pipelines/motion.h"
#include "pipelines/reenact_inputs.h"
#include "pipelines/warp.h"

namespace fiancee {
namespace {

constexpr int kSize = 128;

face::Landmarks head_landmarks(const headgen::HeadExpression& e = {}, float yaw = 0.f) {
  headgen::HeadPose pose;
  pose.yaw = yaw;
  return headgen::project_landmarks(headgen::sample_identity(3), pose, e, kSize);
}

TEST(Warp, MeshCoversTheCropAndKeepsTheBorder) {
  const auto mesh = warp::make_mesh(head_landmarks(), kSize);
  EXPECT_EQ(mesh.points.size(), size_t(face::kNumLandmarks + warp::kRingPoints + 4 * (warp::kBorderPerSide - 1)));
  // Triangles tile the square: their areas add up to it.
  double area = 0;
  for (const auto& t : mesh.triangles) {
    const auto a = mesh.points[t[0]], b = mesh.points[t[1]], c = mesh.points[t[2]];
    area += std::abs(double(b.x - a.x) * (c.y - a.y) - double(c.x - a.x) * (b.y - a.y)) / 2;
  }
  EXPECT_NEAR(area, double(kSize - 1) * (kSize - 1), 0.01 * kSize * kSize);
}

TEST(Warp, UnmovedLandmarksLeaveTheImageAlone) {
  const auto lm = head_landmarks();
  const auto mesh = warp::make_mesh(lm, kSize);
  const cv::Mat map = warp::backward_map(mesh, warp::mesh_targets(mesh, lm));
  double worst = 0;
  for (int y = 0; y < kSize; ++y)
    for (int x = 0; x < kSize; ++x) worst = std::max(worst, cv::norm(map.at<cv::Vec2f>(y, x) - cv::Vec2f(float(x), float(y))));
  EXPECT_LT(worst, 0.01);
}

TEST(Warp, MovedLandmarksCarryTheirPixels) {
  // A dot painted at the nose tip must follow the nose tip to its target.
  const auto lm = head_landmarks();
  cv::Mat img(kSize, kSize, CV_8UC3, cv::Scalar(0, 0, 0));
  cv::circle(img, cv::Point(lm[30]), 2, cv::Scalar(255, 255, 255), cv::FILLED);
  auto target = lm;
  for (auto& p : target) p += cv::Point2f(6.f, -4.f);  // the whole face moves
  const auto mesh = warp::make_mesh(lm, kSize);
  const auto out = reenact::warp_avatar(img, mesh, target);
  cv::Mat grey;
  cv::cvtColor(out.image, grey, cv::COLOR_RGB2GRAY);
  const cv::Moments m = cv::moments(grey);
  ASSERT_GT(m.m00, 0);
  EXPECT_NEAR(m.m10 / m.m00, target[30].x, 1.0);
  EXPECT_NEAR(m.m01 / m.m00, target[30].y, 1.0);
  // The border anchors stay: the corner pixel is the photo's.
  EXPECT_EQ(out.image.at<cv::Vec3b>(0, 0), img.at<cv::Vec3b>(0, 0));
}

// Centre and width of the ring's targets.
std::pair<cv::Point2f, float> ring_of(const std::vector<cv::Point2f>& targets) {
  cv::Point2f c(0.f, 0.f);
  float lo = 1e9f, hi = -1e9f;
  for (int i = 0; i < warp::kRingPoints; ++i) {
    const auto p = targets[size_t(face::kNumLandmarks + i)];
    c += p * (1.f / warp::kRingPoints);
    lo = std::min(lo, p.x), hi = std::max(hi, p.x);
  }
  return {c, hi - lo};
}

TEST(Warp, RingFollowsTheFacesSimilarityMotion) {
  // The face turns in the image plane, grows and moves: hair and forehead must do the same.
  const auto lm = head_landmarks();
  const auto mesh = warp::make_mesh(lm, 256);
  const float a = 0.15f, k = 1.1f;
  const cv::Point2f centre = lm[30], shift(5.f, -3.f);
  auto similar = [&](cv::Point2f p) {
    const cv::Point2f d = p - centre;
    return centre + shift + k * cv::Point2f(std::cos(a) * d.x - std::sin(a) * d.y, std::sin(a) * d.x + std::cos(a) * d.y);
  };
  face::Landmarks target;
  for (int i = 0; i < face::kNumLandmarks; ++i) target[i] = similar(lm[i]);
  const auto out = warp::mesh_targets(mesh, target);
  for (int i = 0; i < warp::kRingPoints; ++i) {
    const auto want = similar(mesh.ring[size_t(i)]);
    if (want.x < 2 || want.y < 2 || want.x > 253 || want.y > 253) continue;  // clamped into the crop
    EXPECT_LT(cv::norm(out[size_t(face::kNumLandmarks + i)] - want), 2.0) << "ring point " << i;
  }
}

TEST(Warp, RingKeepsTheHeadsSizeAndPlaceAtATurn) {
  // At 40 degrees of yaw the face narrows and slides sideways, the head's outline does not:
  // a ring that followed the face's own 2D similarity would shrink and slide with it.
  const auto front = head_landmarks(), turned = head_landmarks({}, 40.f);
  const auto mesh = warp::make_mesh(front, kSize);
  const auto [c0, w0] = ring_of(warp::mesh_targets(mesh, front));
  const auto [c1, w1] = ring_of(warp::mesh_targets(mesh, turned));
  EXPECT_GT(w1, 0.9f * w0);
  EXPECT_LT(std::abs(c1.x - c0.x), 0.5f * std::abs(turned[30].x - front[30].x));
}

TEST(Warp, PartMasksFollowTheTargetMouth) {
  headgen::HeadExpression open;
  open.jaw_open = 1.f;
  const auto closed = warp::part_masks(head_landmarks(), kSize), wide = warp::part_masks(head_landmarks(open), kSize);
  cv::Mat c[2], w[2];
  cv::split(closed, c);
  cv::split(wide, w);
  EXPECT_GT(cv::sum(w[0])[0], cv::sum(c[0])[0] + 20.0);  // an open mouth has an interior
  EXPECT_GT(cv::sum(w[1])[0], 20.0);                      // open eyes have area
}

TEST(Warp, DegenerateFaceIsAnInputError) {
  face::Landmarks dot;
  dot.fill(cv::Point2f(10.f, 10.f));
  EXPECT_THROW(warp::make_mesh(dot, kSize), InputError);
}

TEST(Motion, FirstFrameIsTheAvatarAndChangesTransferRelative) {
  motion::RelativeMotion rm;
  const auto avatar = head_landmarks();
  face::FaceResult driver;
  driver.status = face::FaceStatus::kFresh;
  driver.baseline_frames = 1;
  // A driver twice the avatar's size, elsewhere in its frame.
  for (int i = 0; i < face::kNumLandmarks; ++i) driver.landmarks[i] = avatar[i] * 2.f + cv::Point2f(50.f, 20.f);
  auto t = rm.target(driver, avatar);
  for (int i = 0; i < face::kNumLandmarks; ++i) EXPECT_LT(cv::norm(t[i] - avatar[i]), 1e-3);
  // Many neutral frames fix the median; then the driver's chin drops 10 px: the avatar's drops 5.
  for (int k = 2; k < 40; ++k) {
    driver.baseline_frames = k;
    rm.target(driver, avatar);
  }
  driver.landmarks[8].y += 10.f;
  driver.baseline_frames = 40;
  t = rm.target(driver, avatar);
  EXPECT_NEAR(t[8].y - avatar[8].y, 5.f, 0.05f);
  EXPECT_NEAR(t[30].y, avatar[30].y, 1e-3);
}

// A new shot of `frames` fresh driver frames that are the avatar's own face;
// returns the last, for the caller to move.
face::FaceResult still_shot(motion::RelativeMotion& rm, const face::Landmarks& avatar, int frames) {
  face::FaceResult driver;
  driver.status = face::FaceStatus::kFresh;
  driver.landmarks = avatar;
  for (int k = 1; k <= frames; ++k) {
    driver.baseline_frames = k;
    rm.target(driver, avatar);
  }
  return driver;
}

// Early in a shot the median has seen little: positions move by the share
// of settle_frames it holds, apertures in full.
TEST(Motion, EarlyInAShotPositionsMoveByTheMediansShare) {
  motion::RelativeMotion rm(250, 1500, 10);
  const auto avatar = head_landmarks();
  face::FaceResult driver = still_shot(rm, avatar, 3);
  // The fourth frame: the head moved 10 px right and the eyes closed.
  headgen::HeadExpression blink;
  blink.blink = 1.f;
  driver.landmarks = head_landmarks(blink);
  for (auto& p : driver.landmarks) p += cv::Point2f(10.f, 0.f);
  driver.baseline_frames = 4;
  const auto t = rm.target(driver, avatar);
  EXPECT_EQ(rm.count(), 4);
  EXPECT_NEAR(t[30].x - avatar[30].x, 10.f * 4 / 10, 0.05f);
  const auto gap = [](const face::Landmarks& l) { return motion::RelativeMotion::apertures(l); };
  EXPECT_NEAR(gap(t)[3], gap(driver.landmarks)[3], 0.02f);  // the blink is the driver's, not 4/10 of it
  // Settled: the same motion in full.
  motion::RelativeMotion full(250, 1500, 1);
  driver = still_shot(full, avatar, 3);
  for (auto& p : driver.landmarks) p += cv::Point2f(10.f, 0.f);
  driver.baseline_frames = 4;
  EXPECT_NEAR(full.target(driver, avatar)[30].x - avatar[30].x, 10.f, 0.05f);
}

TEST(Motion, BaselineRestartsWithTheFrontEnds) {
  motion::RelativeMotion rm;
  const auto avatar = head_landmarks();
  face::FaceResult driver = still_shot(rm, avatar, 10);
  EXPECT_EQ(rm.count(), 10);
  driver.baseline_frames = 1;  // a scene cut restarted the front end's baseline
  for (auto& p : driver.landmarks) p += cv::Point2f(30.f, 0.f);
  const auto t = rm.target(driver, avatar);
  EXPECT_EQ(rm.count(), 1);
  EXPECT_LT(cv::norm(t[30] - avatar[30]), 1e-3);  // the new shot starts from the avatar's own face
  // A shot of one fresh frame, then another cut: 1 -> 1 is a restart too.
  for (auto& p : driver.landmarks) p += cv::Point2f(0.f, 25.f);
  const auto u = rm.target(driver, avatar);
  EXPECT_EQ(rm.count(), 1);
  EXPECT_LT(cv::norm(u[30] - avatar[30]), 1e-3);
}

// Two shots of a driver twice the avatar's size, elsewhere in its frame: one
// talking with the mouth ajar, then (after a cut) one with it shut. Positions
// restart at the cut, apertures do not: the avatar's mouth is shut in the
// second shot, and a blink still closes its eye. The avatar's own mouth is
// ajar (wider than the driver ever opens it).
TEST(Motion, AperturesFollowTheDriverAcrossShots) {
  motion::RelativeMotion rm;
  headgen::HeadExpression parted;
  parted.jaw_open = 0.8f;
  const auto avatar = head_landmarks(parted);
  auto driver_of = [&](const headgen::HeadExpression& e, cv::Point2f shift) {
    face::FaceResult d;
    d.status = face::FaceStatus::kFresh;
    const auto lm = head_landmarks(e);
    for (int i = 0; i < face::kNumLandmarks; ++i) d.landmarks[i] = lm[i] * 2.f + shift;
    return d;
  };
  headgen::HeadExpression ajar, shut, blink;
  ajar.jaw_open = 0.5f;
  blink.blink = 1.f;
  const auto gap = [](const face::Landmarks& l) { return motion::RelativeMotion::apertures(l); };
  const float avatar_mouth = gap(avatar)[1], avatar_eye = gap(avatar)[3];
  face::Landmarks t{};
  for (int k = 1; k <= 30; ++k) {
    auto d = driver_of(ajar, {50.f, 20.f});
    d.baseline_frames = k;
    t = rm.target(d, avatar);
  }
  EXPECT_NEAR(gap(t)[1], avatar_mouth, 1e-3);  // the stream's typical mouth is the avatar's
  for (int k = 1; k <= 40; ++k) {               // the cut: the front end restarts its baseline
    auto d = driver_of(shut, {10.f, 60.f});
    d.baseline_frames = k;
    t = rm.target(d, avatar);
  }
  EXPECT_EQ(rm.count(), 40);
  EXPECT_EQ(rm.aperture_count(), 70);
  // The driver's lips closed by (ajar - shut) IODs; the median is now a shut
  // mouth, so the avatar's is back to its own; but early in the second shot
  // (median still ajar) it closes by the driver's difference.
  const float driver_change = gap(head_landmarks(ajar))[1] - gap(head_landmarks(shut))[1];
  ASSERT_GT(driver_change, 0.05f);
  EXPECT_NEAR(gap(t)[1], avatar_mouth, 1e-3);
  motion::RelativeMotion fresh;
  for (int k = 1; k <= 30; ++k) {
    auto d = driver_of(ajar, {50.f, 20.f});
    d.baseline_frames = k;
    fresh.target(d, avatar);
  }
  for (int k = 1; k <= 10; ++k) {
    auto d = driver_of(shut, {10.f, 60.f});
    d.baseline_frames = k;
    t = fresh.target(d, avatar);
  }
  ASSERT_GT(avatar_mouth - driver_change, 0.02f);
  // (The lower lip moves by the three columns' mean change, so each column
  // is off by a little.)
  EXPECT_NEAR(gap(t)[1], avatar_mouth - driver_change, 0.1f * driver_change);
  // The geometry restarted at the cut: the nose is the avatar's.
  EXPECT_LT(cv::norm(t[30] - avatar[30]), 1e-3);
  // A blink in the second shot closes the avatar's eye.
  auto d = driver_of(blink, {10.f, 60.f});
  d.baseline_frames = 11;
  t = fresh.target(d, avatar);
  EXPECT_LT(gap(t)[3], 0.3f * avatar_eye);
}

TEST(Warp, LandmarksOutsideTheCropStillMeshAndNonFiniteTargetsAreRefused) {
  auto lm = head_landmarks();
  for (auto& p : lm) p = (p - cv::Point2f(kSize / 2.f, kSize / 2.f)) * 1.6f + cv::Point2f(kSize / 2.f, kSize / 2.f);  // chin and jaw leave the crop
  const auto mesh = warp::make_mesh(lm, kSize);
  EXPECT_FALSE(mesh.triangles.empty());
  auto bad = lm;
  bad[8].y = std::numeric_limits<float>::quiet_NaN();
  cv::Mat img(kSize, kSize, CV_8UC3, cv::Scalar(1, 2, 3));
  EXPECT_THROW(reenact::warp_avatar(img, mesh, bad), NonFiniteError);
}

}  // namespace
}  // namespace fiancee
