// Face front end of the reenactment pipeline: finds the driver's face in a
// frame (dlib HOG detector + 68-point shape predictor), smooths the landmarks
// over time, and turns them into what the rest of the pipeline needs: head
// pose (yaw, pitch, roll), an expression vector, the guide-database key and
// an affine map to a canonical face crop. docs/face-frontend.md documents
// every number.
//
// No GLib, no LibTorch and no dlib types here: the element and the tools
// include this header cheaply; dlib stays inside face_frontend.cc.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace fiancee::face {

// Debian's libdlib-data installs the trained 68-point model here.
inline constexpr const char* kDefaultShapeModelPath = "/usr/share/dlib/shape_predictor_68_face_landmarks.dat";

constexpr int kNumLandmarks = 68;  // iBUG 300-W layout: jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, mouth 48-67
using Landmarks = std::array<cv::Point2f, kNumLandmarks>;

// Expression features, all measured on landmarks with roll and scale removed
// (unit = inter-ocular distance, IOD = distance between the two eye centres).
enum ExprFeature : int {
  kMouthOpen = 0,    // mean gap between the inner lips (61-67, 62-66, 63-65) / IOD
  kMouthWidth,       // mouth corner distance |48-54| / IOD
  kSmile,            // height of the mouth corners above the upper inner lip (62) / IOD; > 0 smiling
  kEyeOpenRight,     // eye aspect ratio of the subject's right eye (36-41, image left)
  kEyeOpenLeft,      // eye aspect ratio of the subject's left eye (42-47)
  kBrowRight,        // height of the right brow (17-21 mean) above its eye centre / IOD
  kBrowLeft,         // height of the left brow (22-26 mean) above its eye centre / IOD
  kBrowGap,          // distance between the inner brow ends |21-22| / IOD
  kJawDrop,          // height of the chin (8) below the nose base (33) / IOD
  kLipThickness,     // outer lip height |51-57| minus the inner gap, / IOD
  kExprDim
};
// The key's expression part is (feature - centre) / scale: roughly zero for a
// neutral face and of unit range. Hand-picked typical values (docs).
extern const std::array<float, kExprDim> kExprCentre;
extern const std::array<float, kExprDim> kExprScale;
constexpr float kAngleScaleDeg = 45.f;  // the key carries yaw/45, pitch/45, roll/45

// Guide-database key: [yaw/45, pitch/45, roll/45, normalised expression...].
constexpr int kKeyDim = 3 + kExprDim;

// Head pose in degrees, camera convention (image x right, y down):
// yaw > 0: the nose turns towards the image's right (the subject's left);
// pitch > 0: the face looks up; roll > 0: the head tilts clockwise in the image.
struct HeadAngles {
  float yaw = 0.f;
  float pitch = 0.f;
  float roll = 0.f;
};

// Rotation of the head frame into the camera frame for these angles:
// R = Rz(roll) * Ry(-yaw) * Rx(-pitch). The head frame equals the camera
// frame at zero pose (x right, y down, z from the camera into the scene).
cv::Matx33d rotation_from_angles(const HeadAngles& angles);
HeadAngles angles_from_rotation(const cv::Matx33d& r);

// The hand-made 3D mean face (millimetres, head frame) used by estimate_pose,
// and which of the 68 landmarks each point is.
struct MeanFacePoint {
  int landmark;
  cv::Point3f position;
};
const std::vector<MeanFacePoint>& mean_face_points();
// Distance between the eye centres (means of the 6 eye points) of that face.
constexpr float kMeanFaceIodMm = 61.f;

// Pose from 2D landmarks by cv::solvePnP against mean_face_points(), pinhole
// camera with focal length = image width and principal point at the image
// centre, no distortion. The chin (and 0.3x for the mouth corners) of the
// model is lowered by the measured lip gap (kMouthOpen * kMeanFaceIodMm).
// Also returns the translation (mm, camera frame) if asked.
HeadAngles estimate_pose(const Landmarks& landmarks, int image_width, int image_height,
                         cv::Vec3d* translation = nullptr);

// The face's own axes: eye centres' midpoint, u along the eyes (subject's
// right eye to left), v down the face, both unit length, and the IOD in pixels.
struct FaceAxes {
  cv::Point2f mid, u, v;
  float iod = 1.f;
  // Height of p below the eye line, in IODs.
  float down(cv::Point2f p) const { return (p - mid).dot(v) / iod; }
};
FaceAxes face_axes(const Landmarks& landmarks);

// The expression vector (see ExprFeature) of a set of landmarks.
std::array<float, kExprDim> expression_features(const Landmarks& landmarks);

// [yaw, pitch, roll scaled by 1/kAngleScaleDeg, normalised expression]; kKeyDim values.
std::vector<float> make_key(const HeadAngles& angles, const std::array<float, kExprDim>& expression);

// The driver's typical expression: per-feature median of its most recent
// `window` fresh frames. Expressions transfer relative to it (like relative
// motion transfer in FOMM), so a driver whose neutral face differs from the
// avatar's (eye shape, brow height, jaw; a cartoon) moves the avatar away
// from the avatar's own typical expression instead of imposing its geometry.
class ExpressionBaseline {
 public:
  explicit ExpressionBaseline(int window) : window_(window) {}
  void add(const std::array<float, kExprDim>& expression);
  void reset() { recent_.clear(); }
  int count() const { return static_cast<int>(recent_.size()); }
  // kExprCentre while empty.
  std::array<float, kExprDim> median() const;

 private:
  int window_;
  std::deque<std::array<float, kExprDim>> recent_;
};

// Similarity transform (2x3, frame pixels -> crop pixels) taking the eye
// centres, nose tip and mouth corners to fixed places in a crop_size square
// (eyes at 40%/60% across and 45% down, nose tip at 50%/58%, mouth corners at
// 42%/58% across and 67.5% down: the eyes are 0.2 crop apart, so the whole
// head fits), least squares over those 5 points.
cv::Matx23f crop_transform(const Landmarks& landmarks, int crop_size);
// Similarity (2x3) moving the points `from` onto `to` in the least-squares sense.
cv::Matx23f fit_similarity(const std::vector<cv::Point2d>& from, const std::vector<cv::Point2d>& to);
// t applied to p.
inline cv::Point2f transform(const cv::Matx23f& t, cv::Point2f p) {
  return {t(0, 0) * p.x + t(0, 1) * p.y + t(0, 2), t(1, 0) * p.x + t(1, 1) * p.y + t(1, 2)};
}
// Canonical positions of those 5 points in a unit square (x, y in 0..1).
const std::array<cv::Point2f, 5>& crop_template();

enum class FaceStatus {
  kFresh,  // a face was found in this frame
  kHeld,   // none found; the last good result is repeated (within hold_frames)
  kNone,   // no face: the caller should pass the frame through
};
const char* to_string(FaceStatus status);

struct FaceResult {
  FaceStatus status = FaceStatus::kNone;
  int frames_since_fresh = 0;  // 0 when fresh, 1.. when held
  Landmarks landmarks{};       // full-frame pixel coordinates (smoothed)
  HeadAngles angles;
  std::array<float, kExprDim> expression{};
  cv::Matx23f crop = cv::Matx23f::zeros();  // frame -> canonical crop of options.crop_size
  int crop_size = 0;
  cv::Rect box;  // detector's face box in frame pixels
  // The driver's typical expression over this shot so far (ExpressionBaseline;
  // reset on a scene cut or when the face is lost), and how many frames it holds.
  std::array<float, kExprDim> expression_baseline{};
  int baseline_frames = 0;

  bool has_face() const { return status != FaceStatus::kNone; }
  // kKeyDim values (absolute expression); all zero when there is no face.
  std::vector<float> key() const;
};

struct FaceFrontEndOptions {
  std::string model_path = kDefaultShapeModelPath;  // dlib 68-point shape predictor
  // The detector runs on a copy downscaled so that its longer side is at most
  // this (0: full frame); landmarks are always fitted on the full frame.
  // dlib's HOG detector finds faces from ~80 px up in the image it scans, so
  // the default finds faces down to 1/6 of the frame's longer side.
  int detect_max_side = 480;
  // dlib pyramid upsampling of the detector input: each doubles the scanned
  // image (finds faces half as small) and costs ~3x the time.
  int detect_upsample = 0;
  // Run the (costly, ~15 ms at 480 px) face detector on every Nth frame only;
  // in between, landmarks are fitted in the box that follows the last face
  // (~1 ms). A scene cut, a lost face or implausible landmarks detect again.
  // 1 = detect on every frame.
  int redetect_every = 1;
  // Frames without a face that repeat the last good result before "none".
  int hold_frames = 12;
  // One-Euro filter on the landmarks (speeds in IODs per second).
  bool smooth = true;
  double fps = 25.0;          // frame rate assumed when process() gets no timestamp
  double min_cutoff_hz = 1.0;
  double beta = 4.0;
  double d_cutoff_hz = 1.0;
  // The filter restarts when the face jumps by more than this many IODs or
  // changes size by more than jump_scale (relative), or on a scene cut: mean
  // absolute difference of 16x16 grey thumbnails above scene_cut_level
  // (0..255). A scene cut also drops the held result.
  double jump_iod = 0.5;
  double jump_scale = 0.3;
  double scene_cut_level = 30.0;
  int crop_size = 256;
  // Fresh frames in the driver's expression baseline (about 10 s at 25 fps).
  int baseline_frames = 250;
};

class FaceFrontEnd {
 public:
  // Loads the shape model (shared between instances using the same path).
  // Throws fiancee::InputError naming the path when it is missing or unreadable.
  explicit FaceFrontEnd(const FaceFrontEndOptions& options = {});
  ~FaceFrontEnd();
  FaceFrontEnd(const FaceFrontEnd&) = delete;
  FaceFrontEnd& operator=(const FaceFrontEnd&) = delete;

  // One frame of packed 8-bit RGB (stride in bytes). timestamp_s < 0: the
  // previous one + 1/fps. Frames must come in order; reset() between clips.
  FaceResult process(const uint8_t* rgb, int width, int height, int stride, double timestamp_s = -1.0);
  // Detection + landmarks only (no smoothing, no hold), for still images;
  // the image's own expression is its baseline.
  FaceResult detect(const uint8_t* rgb, int width, int height, int stride);
  void reset();
  const FaceFrontEndOptions& options() const { return options_; }

 private:
  struct Impl;
  FaceFrontEndOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fiancee::face
