#include "core/exit_hysteresis.h"

#include "core/frame_report.h"

namespace fiancee {

void ExitHysteresis::update(const FrameReport& r, int hold) {
  if (hold <= 0) return reset();
  if (r.passthrough || r.exit < 0 || r.forced || r.late || r.wanted_exit < 0) return;
  if (current_ < 0 || r.wanted_exit >= current_) {
    current_ = r.wanted_exit;  // up (or the same) at once
    streak_ = 0;
  } else if (++streak_ >= hold) {
    current_ = r.wanted_exit;  // down after `hold` frames that all wanted less
    streak_ = 0;
  }
}

}  // namespace fiancee
