// Procedural talking heads: a parametric 3D head (ellipsoid parts: cranium,
// jaw, chin, nose, ears, hair, neck, shoulders) ray cast on the CPU with
// Lambertian shading and a painted face texture (OpenCV drawing), plus the 68
// iBUG landmarks of the same 3D model projected into the image. It stands in
// for a face video data set (none is reachable here): identities come from a
// seed, pose and expression are free parameters, and the landmarks let tests
// check the face front end's pose and expression against the true values.
//
// Deterministic: same parameters -> byte-identical image (no threads, no
// platform random number generators). Camera convention as in
// face_frontend.h: pinhole, focal length = image width, principal point at
// the image centre; angles as in fiancee::face::HeadAngles.
#pragma once

#include <array>
#include <cstdint>

#include <opencv2/core.hpp>

#include "pipelines/face_frontend.h"

namespace fiancee::headgen {

// Identity: shape factors are relative to 1 (the average head), colours RGB in 0..1.
struct HeadParams {
  uint64_t seed = 0;
  float head_width = 1.f;   // cranium width
  float head_height = 1.f;  // cranium height
  float jaw_width = 1.f;
  float chin_length = 1.f;
  float nose_size = 1.f;    // width and protrusion
  float nose_length = 1.f;
  float eye_size = 1.f;
  float eye_spacing = 1.f;
  float mouth_width = 1.f;
  float lip_thickness = 1.f;
  float brow_thickness = 1.f;
  int hair_style = 0;       // 0 short, 1 long (frames the face), 2 shaved
  float hair_volume = 1.f;
  cv::Vec3f skin{0.85f, 0.65f, 0.52f};
  cv::Vec3f hair{0.25f, 0.16f, 0.1f};
  cv::Vec3f brows{0.2f, 0.13f, 0.08f};
  cv::Vec3f iris{0.35f, 0.22f, 0.12f};
  cv::Vec3f lips{0.7f, 0.38f, 0.36f};
  cv::Vec3f clothing{0.2f, 0.3f, 0.5f};
  cv::Vec3f background_top{0.6f, 0.65f, 0.7f};
  cv::Vec3f background_bottom{0.35f, 0.38f, 0.42f};
  float texture = 1.f;      // strength of skin / hair / background noise
  cv::Vec3f light{0.3f, -0.4f, -1.f};  // direction towards the light, camera frame
  float ambient = 0.4f;
};

struct HeadPose {
  float yaw = 0.f, pitch = 0.f, roll = 0.f;  // degrees, fiancee::face::HeadAngles convention
  float distance = 1.f;                      // camera distance relative to the default (head ~55% of the image)
  float shift_x = 0.f, shift_y = 0.f;        // head position, fraction of the image size
};

struct HeadExpression {
  float jaw_open = 0.f;  // 0 closed .. 1 wide open (22 mm lip gap)
  float smile = 0.f;     // -1 frown .. 1 broad smile
  float blink = 0.f;     // 0 open .. 1 closed (both eyes)
  float brows = 0.f;     // -1 lowered/frowning .. 1 raised
  float gaze_x = 0.f, gaze_y = 0.f;  // iris offset, -1..1
};

// A random identity (shape, colours, hair, lighting) from a seed.
HeadParams sample_identity(uint64_t seed);
// Random pose within +-max_yaw / +-max_pitch / +-max_roll degrees, and a random expression.
HeadPose sample_pose(uint64_t seed, float max_yaw = 30.f, float max_pitch = 20.f, float max_roll = 15.f);
HeadExpression sample_expression(uint64_t seed);

using Landmarks3D = std::array<cv::Point3f, face::kNumLandmarks>;
// The 68 landmarks on the 3D model, head frame (millimetres, x right, y
// down, z away from the camera at zero pose; origin near the head centre).
Landmarks3D model_landmarks(const HeadParams& head, const HeadExpression& expression);
// Those landmarks projected into a size x size image for this pose.
face::Landmarks project_landmarks(const HeadParams& head, const HeadPose& pose, const HeadExpression& expression,
                                  int size);

// Renders a size x size 8-bit RGB image (CV_8UC3, R first); fills
// *landmarks (may be null) with project_landmarks(). supersample: rays per
// pixel side (2 = 4 rays per pixel).
cv::Mat render(const HeadParams& head, const HeadPose& pose, const HeadExpression& expression, int size,
               face::Landmarks* landmarks = nullptr, int supersample = 2);

}  // namespace fiancee::headgen
