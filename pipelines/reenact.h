// The reenactment pipeline: a source avatar animated by driver frames.
#pragma once

#include <memory>
#include <string>

#include "core/defaults.h"
#include "pipelines/frame_pipeline.h"

namespace fiancee {

// What to render when the driver frame shows no face (after the last good
// pose has been held for face_hold_frames).
enum class NoFaceAction {
  Passthrough,  // copy the driver frame unchanged
  Neutral,      // render the avatar frontal with a neutral expression
};

// How the driver's expression reaches the avatar.
enum class ExpressionTransfer {
  Relative,  // the avatar's typical expression + the driver's change from its own baseline
  Absolute,  // the driver's landmark measurements as they are
};

struct ReenactOptions {
  std::string model_location;     // package directory
  std::string source_location;    // avatar image (PNG/JPEG/...)
  std::string database_location;  // overrides the package's guide database; empty = package's
  Device device = Device::Auto;
  NoFaceAction no_face = NoFaceAction::Passthrough;
  ExpressionTransfer expression_transfer = ExpressionTransfer::Relative;
  int face_hold_frames = defaults::kFaceHoldFrames;
  int face_redetect_interval = defaults::kFaceRedetectInterval;  // run the face detector every Nth frame, track in between (face::FaceFrontEndOptions)
  std::string landmark_model;     // dlib 68-point model; empty = Debian's libdlib-data path
};

// Loads and validates everything up front; throws PackageError / InputError /
// UnavailableError naming the offending file or setting.
std::unique_ptr<FramePipeline> make_reenact_pipeline(const ReenactOptions& options);

}  // namespace fiancee
