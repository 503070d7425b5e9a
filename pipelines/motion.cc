#include "pipelines/motion.h"

#include <algorithm>
#include <vector>


namespace fiancee::motion {

namespace {

// (upper, lower) landmark of each aperture: the inner lips' three columns,
// then the right eye's two lid columns and the left eye's.
constexpr std::array<std::pair<int, int>, RelativeMotion::kNumApertures> kAperturePairs = {
    {{61, 67}, {62, 66}, {63, 65}, {37, 41}, {38, 40}, {43, 47}, {44, 46}}};
constexpr int kMouthColumns = 3;

// A correction of the lip gap moves the lower lip whole and drags the jaw
// with it, most at the chin: the mouth opens as a jaw drop, not as a lip
// that thins.
constexpr std::array<int, 8> kLowerLip = {55, 56, 57, 58, 59, 65, 66, 67};
constexpr std::array<std::pair<int, float>, 7> kJawShare = {
    {{5, 0.25f}, {6, 0.5f}, {7, 0.75f}, {8, 1.f}, {9, 0.75f}, {10, 0.5f}, {11, 0.25f}}};

// Pixels per unit of each aperture. The lip gap is vertical, so its unit is
// the height of the nose base (33) below the eye line: both shrink when the
// head pitches, neither when it turns (an IOD unit would grow every gap by
// 1/cos(yaw) at a turn and open the avatar's mouth). A lid gap is measured
// against its eye's width, as the eye aspect ratio does, so the avatar's eye
// opens as much as the driver's in the measure blinks are usually read by.
RelativeMotion::Apertures units(const face::Landmarks& l, const face::FaceAxes& axes) {
  const float nose = std::max(axes.down(l[33]), 0.1f) * axes.iod;
  const float right = std::max(float(cv::norm(l[39] - l[36])), 1e-3f), left = std::max(float(cv::norm(l[45] - l[42])), 1e-3f);
  return {nose, nose, nose, right, right, left, left};
}

}  // namespace

RelativeMotion::Apertures RelativeMotion::apertures(const face::Landmarks& l) {
  const face::FaceAxes axes = face::face_axes(l);
  const Apertures unit = units(l, axes);
  Apertures a{};
  for (int k = 0; k < kNumApertures; ++k)
    a[k] = (l[kAperturePairs[k].second] - l[kAperturePairs[k].first]).dot(axes.v) / unit[k];
  return a;
}

RelativeMotion::Apertures RelativeMotion::aperture_median() const {
  Apertures m{};
  std::vector<float> v(apertures_.size());
  const size_t mid = apertures_.size() / 2;
  for (int k = 0; k < kNumApertures; ++k) {
    for (size_t i = 0; i < apertures_.size(); ++i) v[i] = apertures_[i][k];
    std::nth_element(v.begin(), v.begin() + long(mid), v.end());
    m[k] = v[mid];
  }
  return m;
}

// Sets each aperture of the target to the avatar's plus the driver's change
// from its stream-long median (the per-shot transfer gave the change from the
// shot's median). A gap never closes past zero unless the avatar's own does.
void RelativeMotion::correct_apertures(face::Landmarks& target, const Apertures& driver, const face::Landmarks& avatar) const {
  const Apertures median = aperture_median(), own = apertures(avatar), now = apertures(target);
  const face::FaceAxes axes = face::face_axes(target);
  const Apertures unit = units(target, axes);
  Apertures shift{};  // pixels down the face
  for (int k = 0; k < kNumApertures; ++k) {
    const float wanted = std::max(own[k] + driver[k] - median[k], std::min(own[k], 0.f));
    shift[k] = (wanted - now[k]) * unit[k];
  }
  float lip = 0.f;
  for (int k = 0; k < kMouthColumns; ++k) lip += shift[k] / kMouthColumns;
  for (int i : kLowerLip) target[i] += axes.v * lip;
  for (const auto& [i, share] : kJawShare) target[i] += axes.v * (lip * share);
  // An eye opens by its upper lid rising.
  for (int k = kMouthColumns; k < kNumApertures; ++k) target[kAperturePairs[k].first] -= axes.v * shift[k];
}

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
  const Apertures driver_apertures = apertures(driver.landmarks);
  if (driver.status == face::FaceStatus::kFresh || recent_.empty()) {
    recent_.push_back(driver.landmarks);
    if (static_cast<int>(recent_.size()) > window_) recent_.pop_front();
    apertures_.push_back(driver_apertures);
    if (static_cast<int>(apertures_.size()) > aperture_window_) apertures_.pop_front();
  }
  const face::Landmarks base = median();
  const float trust = std::min(1.f, float(recent_.size()) / float(settle_frames_));
  const cv::Matx23f s = face::fit_similarity({base.begin(), base.end()}, {avatar.begin(), avatar.end()});
  face::Landmarks out;
  for (int i = 0; i < face::kNumLandmarks; ++i) {
    const cv::Point2f d = trust * (driver.landmarks[i] - base[i]);
    out[i] = avatar[i] + cv::Point2f(s(0, 0) * d.x + s(0, 1) * d.y, s(1, 0) * d.x + s(1, 1) * d.y);
  }
  correct_apertures(out, driver_apertures, avatar);
  return out;
}

}  // namespace fiancee::motion
