// The one-shot reenactment pipeline: any photo (the avatar) animated by the
// face in driver frames. Per frame: the driver's landmarks (face front end)
// -> relative motion onto the avatar's landmarks (motion.h) -> the avatar
// crop warped to them (warp.h) -> refined by the package's G2D renderer with
// early exits (the refiner adds what warping cannot make: mouth interior,
// eyelids, revealed cheeks) -> pasted back into the photo and framed into the
// output (avatar.h). docs/reenactment.md.
#pragma once

#include <memory>
#include <string>

#include <opencv2/core.hpp>

#include "core/defaults.h"
#include "pipelines/face_frontend.h"
#include "pipelines/frame_pipeline.h"

namespace fiancee {

// What to render when the driver frame shows no face (after the last good
// pose has been held for face_hold_frames).
enum class NoFaceAction {
  Passthrough,  // copy the driver frame unchanged
  Neutral,      // the avatar as in its photo
};

// How the driver's motion reaches the avatar.
enum class ExpressionTransfer {
  Relative,  // the avatar's own face moved by the driver's change from its per-shot median face
  Absolute,  // the driver's landmarks, scaled and rotated onto the avatar (takes the driver's face shape)
};

struct ReenactOptions {
  std::string model_location;     // package directory
  std::string source_location;    // avatar photo (PNG/JPEG/...), any size, grey/RGB/RGBA
  std::string database_location;  // overrides the package's guide database; empty = package's
  Device device = Device::Auto;
  Precision precision = Precision::Fp32;  // of the networks (Engine::set_precision)
  EngineSharing sharing;          // an engine of its own, or one shared by name with other pipelines
  NoFaceAction no_face = NoFaceAction::Passthrough;
  ExpressionTransfer expression_transfer = ExpressionTransfer::Relative;
  int face_hold_frames = defaults::kFaceHoldFrames;
  int face_redetect_interval = defaults::kFaceRedetectInterval;  // run the face detector every Nth frame, track in between (face::FaceFrontEndOptions)
  std::string landmark_model;     // dlib 68-point model; empty = Debian's libdlib-data path
  bool refine = true;             // false: the warp alone, no network (the training-free baseline evaluations compare with)
};

class ReenactPipeline : public FramePipeline {
 public:
  // What the last processed frame was made of, for evaluation tools.
  struct Trace {
    bool face = false;             // a driver face was used (fresh or held)
    face::Landmarks target{};      // target landmarks, crop pixels
    face::Landmarks target_out{};  // the same in output-frame pixels
    cv::Mat warped;                // RGB8 crop: the warp alone
    cv::Mat rendered;              // RGB8 crop: what was pasted back (= warped when not refining)
  };
  virtual const Trace& trace() const = 0;
  virtual const cv::Mat& avatar_crop() const = 0;  // RGB8, the package's resolution
};

// Loads and validates everything up front; throws PackageError / InputError /
// UnavailableError naming the offending file or setting.
std::unique_ptr<ReenactPipeline> make_reenact_pipeline(const ReenactOptions& options);

}  // namespace fiancee
