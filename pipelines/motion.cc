#include "pipelines/motion.h"

#include <algorithm>
#include <vector>


namespace fiancee::motion {

face::Landmarks RelativeMotion::median() const {
  face::Landmarks m{};
  std::vector<float> xs(recent_.size()), ys(recent_.size());
  const size_t mid = recent_.size() / 2;
  for (int i = 0; i < face::kNumLandmarks; ++i) {
    for (size_t k = 0; k < recent_.size(); ++k) xs[k] = recent_[k][i].x, ys[k] = recent_[k][i].y;
    std::nth_element(xs.begin(), xs.begin() + long(mid), xs.end());
    std::nth_element(ys.begin(), ys.begin() + long(mid), ys.end());
    m[i] = {xs[mid], ys[mid]};
  }
  return m;
}

face::Landmarks RelativeMotion::target(const face::FaceResult& driver, const face::Landmarks& avatar) {
  // The front end restarted its baseline (a scene cut, a lost face): so does the median.
  const bool restarted = driver.baseline_frames < last_baseline_frames_ ||
                         (driver.status == face::FaceStatus::kFresh && driver.baseline_frames <= 1);
  if (restarted) recent_.clear();
  last_baseline_frames_ = driver.baseline_frames;
  if (driver.status == face::FaceStatus::kFresh || recent_.empty()) {
    recent_.push_back(driver.landmarks);
    if (static_cast<int>(recent_.size()) > window_) recent_.pop_front();
  }
  const face::Landmarks base = median();
  const cv::Matx23f s = face::fit_similarity({base.begin(), base.end()}, {avatar.begin(), avatar.end()});
  face::Landmarks out;
  for (int i = 0; i < face::kNumLandmarks; ++i) {
    const cv::Point2f d = driver.landmarks[i] - base[i];
    out[i] = avatar[i] + cv::Point2f(s(0, 0) * d.x + s(0, 1) * d.y, s(1, 0) * d.x + s(1, 1) * d.y);
  }
  return out;
}

}  // namespace fiancee::motion
