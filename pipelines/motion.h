// The motion front of the one-shot reenactment: the driver's landmarks taken
// relative to the driver's own typical face (per-point median over the
// current shot) and moved onto the avatar. Relative motion keeps the avatar's
// own face shape: a driver with a wider jaw or higher brows moves the avatar,
// it does not reshape it. A robust median (not the first frame) matters: a
// shot that starts mid-blink or mid-word would otherwise bias every frame.
//
// A median of a few frames is not yet a typical face: at the start of a shot
// the positions' motion is scaled by count / settle_frames (a shot that opens
// on a gasp would otherwise make its every later, ordinary face read as a
// short one, and squash the avatar's lower face; docs/results.md). The
// apertures are not scaled: their baseline spans the stream.
//
// The apertures (the gap between the inner lips, the gap between each eye's
// lids) are the exception: they move relative to the driver's median over the
// whole stream, across shots. A gap in face units does not change with a
// cut or a zoom, and a per-shot baseline would map a shot where the driver
// talks with the mouth ajar and one where it is shut onto the same resting
// avatar mouth: the avatar would not show the difference the viewer sees.
#pragma once

#include <array>
#include <deque>

#include "pipelines/face_frontend.h"

namespace fiancee::motion {

class RelativeMotion {
 public:
  // window: fresh driver frames in the median (the front end's baseline window).
  // aperture_window: fresh driver frames in the apertures' stream-long median.
  // settle_frames: frames in the median before positions move in full (one
  // second at 25 fps; 1 = from the second frame on).
  explicit RelativeMotion(int window = 250, int aperture_window = 1500, int settle_frames = 25)
      : window_(window < 1 ? 1 : window),
        aperture_window_(aperture_window < 1 ? 1 : aperture_window),
        settle_frames_(settle_frames < 1 ? 1 : settle_frames) {}

  // Target landmarks for the avatar (its crop pixels) for this driver frame:
  // avatar + w S (driver - driver median), S the rotation and scale of the
  // similarity taking the driver's median face onto the avatar's, w =
  // min(1, frames in the median / settle_frames). The driver
  // must have a face (FaceResult::has_face). A restart of the front end's
  // baseline (scene cut, face lost) restarts the median.
  face::Landmarks target(const face::FaceResult& driver, const face::Landmarks& avatar);
  // A new stream: both medians restart.
  void reset() { recent_.clear(), apertures_.clear(); }
  int count() const { return static_cast<int>(recent_.size()); }
  int aperture_count() const { return static_cast<int>(apertures_.size()); }

  // Lid and lip pairs (upper, lower landmark) whose gaps are the apertures.
  static constexpr int kNumApertures = 7;  // 3 mouth columns, 2 per eye
  using Apertures = std::array<float, kNumApertures>;
  // Their gaps measured down the face: the lips' in units of the nose base's
  // height below the eye line (which, unlike the IOD, does not shrink at a
  // turn), each eye's in units of its width (as the eye aspect ratio).
  static Apertures apertures(const face::Landmarks& l);

 private:
  face::Landmarks median() const;
  Apertures aperture_median() const;
  void correct_apertures(face::Landmarks& target, const Apertures& driver, const face::Landmarks& avatar) const;
  int window_, aperture_window_, settle_frames_;
  int last_baseline_frames_ = 0;
  std::deque<face::Landmarks> recent_;
  std::deque<Apertures> apertures_;
};

}  // namespace fiancee::motion
