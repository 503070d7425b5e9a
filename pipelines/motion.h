// The motion front of the one-shot reenactment: the driver's landmarks taken
// relative to the driver's own typical face (per-point median over the
// current shot) and moved onto the avatar. Relative motion keeps the avatar's
// own face shape: a driver with a wider jaw or higher brows moves the avatar,
// it does not reshape it. A robust median (not the first frame) matters: a
// shot that starts mid-blink or mid-word would otherwise bias every frame.
#pragma once

#include <deque>

#include "pipelines/face_frontend.h"

namespace fiancee::motion {

class RelativeMotion {
 public:
  // window: fresh driver frames in the median (the front end's baseline window).
  explicit RelativeMotion(int window = 250) : window_(window < 1 ? 1 : window) {}

  // Target landmarks for the avatar (its crop pixels) for this driver frame:
  // avatar + S * (driver - driver median), S the rotation and scale of the
  // similarity taking the driver's median face onto the avatar's. The driver
  // must have a face (FaceResult::has_face). A restart of the front end's
  // baseline (scene cut, face lost) restarts the median.
  face::Landmarks target(const face::FaceResult& driver, const face::Landmarks& avatar);
  void reset() { recent_.clear(); }
  int count() const { return static_cast<int>(recent_.size()); }

 private:
  face::Landmarks median() const;
  int window_;
  int last_baseline_frames_ = 0;
  std::deque<face::Landmarks> recent_;
};

}  // namespace fiancee::motion
