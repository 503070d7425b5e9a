// The analytic warp of the one-shot reenactment: the avatar's pixels moved so
// that its 68 landmarks land on target positions, piecewise affine over a
// triangle mesh of the landmarks, a ring of head anchors (they follow the
// skull's motion, so hair and forehead move with the head) and
// border anchors (fixed, so the crop's edge matches the photo it is pasted
// back into). Used by the run time and by training, so the refiner learns on
// exactly the warps it will see. docs/reenactment.md explains the choices.
#pragma once

#include <array>
#include <optional>
#include <vector>

#include <opencv2/core.hpp>

#include "pipelines/face_frontend.h"

namespace fiancee::warp {

constexpr int kRingPoints = 20;    // head anchors on an ellipse around the face
constexpr int kBorderPerSide = 6;  // border anchors per crop side (corners included)

// Landmarks that move with the skull, not with the expression: upper jaw,
// nose, eye corners.
inline constexpr std::array<int, 17> kRigid = {0, 1, 15, 16, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 39, 42, 45};

// The skull's centre in the head frame of face::mean_face_points() (mm):
// on the midline, a little above the eye line, 80 mm behind the inner eye
// corners (adult heads are 180-200 mm long). The head's outline turns about
// it: at a yaw the face slides sideways and narrows, the outline does not.
inline constexpr float kSkullCentreMm[3] = {0.f, -15.f, 80.f};

// Where the skull's centre lies in the crop, how large the head is there
// (pixels per mm) and its roll (radians): the landmarks' 3D rotation
// (face::estimate_pose), then scale and position fitted orthographically.
struct Skull {
  cv::Point2f centre;
  float pixels_per_mm = 0.f;
  float roll = 0.f;
};
// Empty when the fit is degenerate or not finite.
std::optional<Skull> skull(const face::Landmarks& landmarks, int size);

// Triangles over the avatar's points: landmarks, head ring, border. Built once per avatar.
struct Mesh {
  int size = 0;                        // square crop side, pixels
  std::vector<cv::Point2f> points;     // avatar positions, crop pixels
  std::vector<cv::Vec3i> triangles;    // indices into points
  std::array<cv::Point2f, kRingPoints> ring{};  // the head ring as built (points[68..])
  Skull skull;                         // the avatar's
};

// Throws fiancee::InputError when the landmarks do not span a usable face
// (degenerate, not finite, or no triangulation).
Mesh make_mesh(const face::Landmarks& avatar, int size);

// Where every mesh point goes when the avatar's landmarks move to `target`:
// landmarks to target; the ring by the similarity that takes the avatar's
// skull (centre, size, roll) to the target's, so it neither shrinks nor
// slides with the face at a turn (the face's own 2D similarity does both);
// border fixed.
std::vector<cv::Point2f> mesh_targets(const Mesh& mesh, const face::Landmarks& target);

// Dense backward map (CV_32FC2, size x size): for each output pixel, where to
// sample the avatar. Pixels no triangle covers (fold-overs) sample themselves.
cv::Mat backward_map(const Mesh& mesh, const std::vector<cv::Point2f>& targets);

// The avatar crop (8-bit RGB, size x size) warped by the map.
cv::Mat apply(const cv::Mat& avatar, const cv::Mat& map);

// Part masks of the target face (CV_32FC2, size x size, 0..1, lightly
// blurred): channel 0 the inner mouth (60-67), channel 1 both eyes (36-47).
// They tell the refiner where warping cannot make the right pixels.
cv::Mat part_masks(const face::Landmarks& target, int size);

}  // namespace fiancee::warp
