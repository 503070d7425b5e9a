// No exit flicker: a stream's route may switch to a costlier exit at once, but
// back down to a cheaper one only after the router has wanted a cheaper exit
// for `hold` frames in a row. The router alone follows every wobble of the
// predictor around the threshold, and each switch changes the image's look
// (exits differ in sharpness and colour). One instance per stream; plain C++.
//
//   rs.min_exit = hysteresis.floor(hold);   // before the frame
//   pipeline.process(..., rs, report);
//   hysteresis.update(report, hold);        // after it
#pragma once

namespace fiancee {

struct FrameReport;

class ExitHysteresis {
 public:
  // The cheapest exit the next frame may take (RouteSettings::min_exit); -1 when hold is 0 (off).
  int floor(int hold) const { return hold > 0 ? current_ : -1; }
  // Learns from a rendered frame. Frames without a routed exit (passthrough,
  // no network, forced, late) leave the state alone.
  void update(const FrameReport& report, int hold);
  // A new stream.
  void reset() { current_ = -1, streak_ = 0; }

 private:
  int current_ = -1;  // the held route's exit; -1 = none yet
  int streak_ = 0;    // frames in a row whose router wanted a cheaper exit than current_
};

}  // namespace fiancee
