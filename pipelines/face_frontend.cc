#include "pipelines/face_frontend.h"

#include <dlib/image_processing.h>
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/opencv.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <string>
#include <mutex>
#include <opencv2/calib3d.hpp>
#include <opencv2/imgproc.hpp>

#include "core/errors.h"
#include "core/file_access.h"

namespace fiancee::face {

namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kDeg = 180.0 / kPi;

cv::Point2f mean_of(const Landmarks& l, int first, int last) {
  cv::Point2f s(0.f, 0.f);
  for (int i = first; i <= last; ++i) s += l[i];
  return s * (1.f / float(last - first + 1));
}

float dist(cv::Point2f a, cv::Point2f b) { return float(std::hypot(a.x - b.x, a.y - b.y)); }

// Eye centres (subject's right = image left first) and inter-ocular distance.
void eye_frame(const Landmarks& l, cv::Point2f& right, cv::Point2f& left, float& iod) {
  right = mean_of(l, 36, 41);
  left = mean_of(l, 42, 47);
  iod = std::max(dist(right, left), 1e-3f);
}

}  // namespace

// Typical neutral value and spread of each expression feature, hand-picked
// from dlib's landmarks on the four opencv-doc portraits and from neutral
// generated heads (docs/face-frontend.md).
const std::array<float, kExprDim> kExprCentre = {0.05f, 0.85f, 0.02f, 0.28f, 0.28f, 0.26f, 0.26f, 0.34f, 1.0f, 0.2f};
const std::array<float, kExprDim> kExprScale = {0.3f, 0.15f, 0.08f, 0.1f, 0.1f, 0.08f, 0.08f, 0.1f, 0.2f, 0.1f};

cv::Matx33d rotation_from_angles(const HeadAngles& a) {
  const double y = -a.yaw / kDeg, p = -a.pitch / kDeg, r = a.roll / kDeg;
  const cv::Matx33d rx(1, 0, 0, 0, std::cos(p), -std::sin(p), 0, std::sin(p), std::cos(p));
  const cv::Matx33d ry(std::cos(y), 0, std::sin(y), 0, 1, 0, -std::sin(y), 0, std::cos(y));
  const cv::Matx33d rz(std::cos(r), -std::sin(r), 0, std::sin(r), std::cos(r), 0, 0, 0, 1);
  return rz * ry * rx;
}

HeadAngles angles_from_rotation(const cv::Matx33d& r) {
  // R = Rz(g) Ry(b) Rx(a): R20 = -sin b, R21 = cos b sin a, R22 = cos b cos a, R10 = sin g cos b, R00 = cos g cos b.
  const double b = std::asin(std::clamp(-r(2, 0), -1.0, 1.0));
  const double a = std::atan2(r(2, 1), r(2, 2));
  const double g = std::atan2(r(1, 0), r(0, 0));
  HeadAngles out;
  out.yaw = float(-b * kDeg);
  out.pitch = float(-a * kDeg);
  out.roll = float(g * kDeg);
  return out;
}

const std::vector<MeanFacePoint>& mean_face_points() {
  // Hand-made from rounded adult proportions (not taken from any data set or
  // published model): millimetres, origin between the inner eye corners,
  // x towards the image right of a frontal face, y down, z away from the camera.
  static const std::vector<MeanFacePoint> points = {
      {36, {-45.f, -2.f, 14.f}},  // right eye, outer corner
      {39, {-16.f, 0.f, 0.f}},    // right eye, inner corner
      {42, {16.f, 0.f, 0.f}},     // left eye, inner corner
      {45, {45.f, -2.f, 14.f}},   // left eye, outer corner
      {27, {0.f, -3.f, -10.f}},   // nasion (top of the nose bridge)
      {30, {0.f, 40.f, -28.f}},   // nose tip
      {31, {-14.f, 45.f, -12.f}}, // right nostril edge
      {33, {0.f, 47.f, -14.f}},   // nose base (subnasale)
      {35, {14.f, 45.f, -12.f}},  // left nostril edge
      {48, {-25.f, 70.f, 0.f}},   // right mouth corner
      {54, {25.f, 70.f, 0.f}},    // left mouth corner
      {8, {0.f, 114.f, -5.f}},    // chin (menton)
  };
  return points;
}

HeadAngles estimate_pose(const Landmarks& landmarks, int image_width, int image_height, cv::Vec3d* translation) {
  const auto& model = mean_face_points();
  // An open mouth lowers the chin (and a little the mouth corners): move
  // those model points down by the measured lip gap so that opening the
  // mouth does not read as a nod.
  const float gap_mm = std::max(0.f, expression_features(landmarks)[kMouthOpen]) * kMeanFaceIodMm;
  std::vector<cv::Point3f> object;
  std::vector<cv::Point2f> image;
  for (const auto& p : model) {
    cv::Point3f q = p.position;
    if (p.landmark == 8) q.y += gap_mm;
    if (p.landmark == 48 || p.landmark == 54) q.y += 0.3f * gap_mm;
    object.push_back(q);
    image.push_back(landmarks[p.landmark]);
  }
  const double f = image_width;
  const cv::Matx33d camera(f, 0, image_width / 2.0, 0, f, image_height / 2.0, 0, 0, 1);
  cv::Mat rvec, tvec;
  cv::solvePnP(object, image, camera, cv::noArray(), rvec, tvec, false, cv::SOLVEPNP_SQPNP);
  // A face in front of the camera; SQPnP is globally optimal but refine anyway.
  cv::solvePnPRefineLM(object, image, camera, cv::noArray(), rvec, tvec);
  cv::Matx33d r;
  cv::Rodrigues(rvec, r);
  if (translation) *translation = cv::Vec3d(tvec.at<double>(0), tvec.at<double>(1), tvec.at<double>(2));
  return angles_from_rotation(r);
}

FaceAxes face_axes(const Landmarks& l) {
  cv::Point2f er, el;
  FaceAxes a;
  eye_frame(l, er, el, a.iod);
  a.u = (el - er) * (1.f / a.iod);
  a.v = cv::Point2f(-a.u.y, a.u.x);
  a.mid = (er + el) * 0.5f;
  return a;
}

std::array<float, kExprDim> expression_features(const Landmarks& l) {
  const FaceAxes axes = face_axes(l);
  const cv::Point2f er = mean_of(l, 36, 41), el = mean_of(l, 42, 47);
  auto down = [&](cv::Point2f p) { return axes.down(p); };
  auto ear = [&](int o) {  // eye aspect ratio of the eye starting at landmark o
    const float w = std::max(dist(l[o], l[o + 3]), 1e-3f);
    return (dist(l[o + 1], l[o + 5]) + dist(l[o + 2], l[o + 4])) / (2.f * w);
  };
  std::array<float, kExprDim> e{};
  const float open = ((down(l[67]) - down(l[61])) + (down(l[66]) - down(l[62])) + (down(l[65]) - down(l[63]))) / 3.f;
  e[kMouthOpen] = open;
  e[kMouthWidth] = dist(l[48], l[54]) / axes.iod;
  e[kSmile] = down(l[62]) - 0.5f * (down(l[48]) + down(l[54]));
  e[kEyeOpenRight] = ear(36);
  e[kEyeOpenLeft] = ear(42);
  e[kBrowRight] = down(er) - down(mean_of(l, 17, 21));
  e[kBrowLeft] = down(el) - down(mean_of(l, 22, 26));
  e[kBrowGap] = dist(l[21], l[22]) / axes.iod;
  e[kJawDrop] = down(l[8]) - down(l[33]);
  e[kLipThickness] = (down(l[57]) - down(l[51])) - open;
  return e;
}

std::vector<float> make_key(const HeadAngles& angles, const std::array<float, kExprDim>& expression) {
  std::vector<float> key(kKeyDim);
  key[0] = angles.yaw / kAngleScaleDeg;
  key[1] = angles.pitch / kAngleScaleDeg;
  key[2] = angles.roll / kAngleScaleDeg;
  for (int i = 0; i < kExprDim; ++i) key[3 + i] = (expression[i] - kExprCentre[i]) / kExprScale[i];
  return key;
}

const std::array<cv::Point2f, 5>& crop_template() {
  static const std::array<cv::Point2f, 5> t = {
      cv::Point2f(0.40f, 0.45f), cv::Point2f(0.60f, 0.45f),    // right, left eye centre
      cv::Point2f(0.50f, 0.58f),                                // nose tip
      cv::Point2f(0.42f, 0.675f), cv::Point2f(0.58f, 0.675f)};  // right, left mouth corner
  return t;
}

cv::Matx23f fit_similarity(const std::vector<cv::Point2d>& from, const std::vector<cv::Point2d>& to) {
  const size_t n = std::min(from.size(), to.size());
  cv::Point2d cs(0, 0), cd(0, 0);
  for (size_t i = 0; i < n; ++i) {
    cs += from[i];
    cd += to[i];
  }
  cs *= 1.0 / double(std::max<size_t>(n, 1));
  cd *= 1.0 / double(std::max<size_t>(n, 1));
  // Least-squares similarity q = [a -b; b a] p + t on centred points.
  double num_a = 0, num_b = 0, den = 0;
  for (size_t i = 0; i < n; ++i) {
    const cv::Point2d p = from[i] - cs, q = to[i] - cd;
    num_a += p.x * q.x + p.y * q.y;
    num_b += p.x * q.y - p.y * q.x;
    den += p.x * p.x + p.y * p.y;
  }
  den = std::max(den, 1e-9);
  const double a = num_a / den, b = num_b / den;
  const double tx = cd.x - (a * cs.x - b * cs.y), ty = cd.y - (b * cs.x + a * cs.y);
  return cv::Matx23f(float(a), float(-b), float(tx), float(b), float(a), float(ty));
}

cv::Matx23f crop_transform(const Landmarks& l, int crop_size) {
  const std::array<cv::Point2f, 5> src = {mean_of(l, 36, 41), mean_of(l, 42, 47), l[30], l[48], l[54]};
  std::vector<cv::Point2d> from, to;
  for (int i = 0; i < 5; ++i) {
    from.emplace_back(src[i]);
    to.push_back(cv::Point2d(crop_template()[i]) * double(crop_size));
  }
  return fit_similarity(from, to);
}

const char* to_string(FaceStatus status) {
  switch (status) {
    case FaceStatus::kFresh:
      return "fresh";
    case FaceStatus::kHeld:
      return "held";
    case FaceStatus::kNone:
      return "none";
  }
  return "?";
}

std::vector<float> FaceResult::key() const {
  if (!has_face()) return std::vector<float>(kKeyDim, 0.f);
  return make_key(angles, expression);
}

void ExpressionBaseline::add(const std::array<float, kExprDim>& expression) {
  recent_.push_back(expression);
  while (static_cast<int>(recent_.size()) > std::max(window_, 1)) recent_.pop_front();
}

std::array<float, kExprDim> ExpressionBaseline::median() const {
  if (recent_.empty()) return kExprCentre;
  std::array<float, kExprDim> m{};
  std::vector<float> v(recent_.size());
  const size_t mid = v.size() / 2;
  for (int i = 0; i < kExprDim; ++i) {
    for (size_t j = 0; j < v.size(); ++j) v[j] = recent_[j][i];
    std::nth_element(v.begin(), v.begin() + mid, v.end());
    m[i] = v[mid];
    if (v.size() % 2 == 0) m[i] = 0.5f * (m[i] + *std::max_element(v.begin(), v.begin() + mid));
  }
  return m;
}

// ---------------------------------------------------------------------------

namespace {

// The 68-point model is ~100 MB in memory: one copy per path, shared.
constexpr int64_t kMaxLandmarkModelBytes = int64_t{1} << 30;

std::shared_ptr<const dlib::shape_predictor> load_shape_model(const std::string& path) {
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<const dlib::shape_predictor>> cache;
  std::lock_guard<std::mutex> lock(mutex);
  if (auto p = cache[path].lock()) return p;
  std::ifstream in;
  if (std::filesystem::exists(path)) {
    // A regular file only: an ifstream on a FIFO would wait for a writer forever.
    RegularFile{path, FileKind::Input, kMaxLandmarkModelBytes, "face landmark model " + path};
    in.open(path, std::ios::binary);
  }
  if (!in.is_open() || !in) {
    throw InputError("face landmark model " + path +
                     " not found or unreadable (Debian: apt-get install libdlib-data; or set the model path)");
  }
  auto model = std::make_shared<dlib::shape_predictor>();
  try {
    dlib::deserialize(*model, in);
  } catch (const std::exception& e) {
    throw InputError("face landmark model " + path + " is not a dlib shape predictor: " + e.what());
  }
  if (model->num_parts() != kNumLandmarks) {
    throw InputError("face landmark model " + path + " has " + std::to_string(model->num_parts()) +
                     " points; the face front end needs the 68-point model (libdlib-data)");
  }
  cache[path] = model;
  return model;
}

// One-Euro filter (Casiez et al. 2012) for one coordinate.
struct OneEuro {
  double x = 0, dx = 0;
  bool init = false;
  static double alpha(double cutoff, double dt) {
    const double tau = 1.0 / (2.0 * kPi * cutoff);
    return 1.0 / (1.0 + tau / dt);
  }
  // speed_unit converts coordinate speed to the units of beta (IODs).
  double step(double value, double dt, double min_cutoff, double beta, double d_cutoff, double speed_unit) {
    if (!init) {
      init = true;
      x = value;
      dx = 0;
      return x;
    }
    const double raw_dx = (value - x) / dt;
    const double ad = alpha(d_cutoff, dt);
    dx = ad * raw_dx + (1 - ad) * dx;
    const double cutoff = min_cutoff + beta * std::abs(dx) / speed_unit;
    const double a = alpha(cutoff, dt);
    x = a * value + (1 - a) * x;
    return x;
  }
};

}  // namespace

struct FaceFrontEnd::Impl {
  std::shared_ptr<const dlib::shape_predictor> shape;
  dlib::frontal_face_detector detector;
  std::array<OneEuro, 2 * kNumLandmarks> filters;
  bool filtered = false;
  FaceResult last_good;
  bool have_good = false;
  int missing = 0;
  double last_time = 0;
  bool have_time = false;
  cv::Mat last_thumb;
  ExpressionBaseline baseline{0};

  int since_detect = 0;       // frames tracked since the detector last ran
  cv::Point2f box_offset;     // detector box centre minus landmark centre at the last detection

  FaceResult detect(const FaceFrontEndOptions& options, const cv::Mat& gray);
  // Landmarks fitted in `box` of the full frame; status kFresh.
  FaceResult fit(const FaceFrontEndOptions& options, const cv::Mat& gray, const cv::Rect& box) const;
  // The box following the last good face, fitted; status kNone when the fit is implausible.
  FaceResult track(const FaceFrontEndOptions& options, const cv::Mat& gray) const;
  void reset_filter() {
    for (auto& f : filters) f = OneEuro();
    filtered = false;
  }
};

FaceFrontEnd::FaceFrontEnd(const FaceFrontEndOptions& options) : options_(options), impl_(std::make_unique<Impl>()) {
  impl_->shape = load_shape_model(options_.model_path);
  impl_->baseline = ExpressionBaseline(options_.baseline_frames);
  impl_->detector = dlib::get_frontal_face_detector();
}

FaceFrontEnd::~FaceFrontEnd() = default;

void FaceFrontEnd::reset() {
  impl_->reset_filter();
  impl_->have_good = false;
  impl_->missing = 0;
  impl_->have_time = false;
  impl_->last_thumb.release();
}

namespace {

cv::Mat to_gray(const uint8_t* rgb, int width, int height, int stride) {
  if (!rgb || width <= 0 || height <= 0 || stride < 3 * width) {
    throw InputError("face front end: bad frame (" + std::to_string(width) + "x" + std::to_string(height) +
                     ", stride " + std::to_string(stride) + ")");
  }
  const cv::Mat frame(height, width, CV_8UC3, const_cast<uint8_t*>(rgb), size_t(stride));
  cv::Mat gray;
  cv::cvtColor(frame, gray, cv::COLOR_RGB2GRAY);
  return gray;
}

}  // namespace

FaceResult FaceFrontEnd::detect(const uint8_t* rgb, int width, int height, int stride) {
  auto r = impl_->detect(options_, to_gray(rgb, width, height, stride));
  if (r.has_face()) {  // a still image is its own baseline
    r.expression_baseline = r.expression;
    r.baseline_frames = 1;
  }
  return r;
}

FaceResult FaceFrontEnd::Impl::detect(const FaceFrontEndOptions& options_, const cv::Mat& gray) {
  const int width = gray.cols, height = gray.rows;
  FaceResult result;
  result.status = FaceStatus::kNone;

  const int longer = std::max(width, height);
  double scale = 1.0;
  if (options_.detect_max_side > 0 && longer > options_.detect_max_side) scale = double(options_.detect_max_side) / longer;
  // dlib finds faces no smaller than its window in the image it scans. A frame
  // narrower than that (1x1000; 4x4096 once downscaled, which would even round
  // to zero pixels) holds no face it could find: no face, not an error.
  const double upsampled = std::pow(2.0, std::max(0, options_.detect_upsample));
  const auto& scanner = detector.get_scanner();
  if (cvRound(std::min(width, height) * scale) * upsampled <
      double(std::max(scanner.get_detection_window_width(), scanner.get_detection_window_height())))
    return result;
  cv::Mat small = gray;
  if (scale < 1.0) cv::resize(gray, small, cv::Size(), scale, scale, cv::INTER_AREA);
  dlib::array2d<unsigned char> img;
  dlib::assign_image(img, dlib::cv_image<unsigned char>(small));
  for (int i = 0; i < options_.detect_upsample; ++i) dlib::pyramid_up(img);
  const double to_frame = 1.0 / (scale * upsampled);
  const std::vector<dlib::rectangle> faces = detector(img);
  if (faces.empty()) return result;

  // The face nearest the one we follow, else the biggest.
  std::vector<cv::Rect> boxes;
  for (const auto& f : faces) {
    boxes.emplace_back(int(std::lround(f.left() * to_frame)), int(std::lround(f.top() * to_frame)),
                       int(std::lround(f.width() * to_frame)), int(std::lround(f.height() * to_frame)));
  }
  size_t best = 0;
  if (have_good) {
    const cv::Point2f c0 = mean_of(last_good.landmarks, 0, kNumLandmarks - 1);
    double best_d = 1e30;
    for (size_t i = 0; i < boxes.size(); ++i) {
      const cv::Point2f c(boxes[i].x + boxes[i].width * 0.5f, boxes[i].y + boxes[i].height * 0.5f);
      const double d = dist(c, c0);
      if (d < best_d) best_d = d, best = i;
    }
  } else {
    for (size_t i = 1; i < boxes.size(); ++i)
      if (boxes[i].area() > boxes[best].area()) best = i;
  }
  return fit(options_, gray, boxes[best]);
}

FaceResult FaceFrontEnd::Impl::fit(const FaceFrontEndOptions& options_, const cv::Mat& gray, const cv::Rect& box) const {
  FaceResult result;
  const dlib::cv_image<unsigned char> full(gray);
  const dlib::full_object_detection parts =
      (*shape)(full, dlib::rectangle(box.x, box.y, box.x + box.width - 1, box.y + box.height - 1));
  for (int i = 0; i < kNumLandmarks; ++i)
    result.landmarks[i] = cv::Point2f(float(parts.part(i).x()), float(parts.part(i).y()));
  result.status = FaceStatus::kFresh;
  result.box = box;
  result.angles = estimate_pose(result.landmarks, gray.cols, gray.rows);
  result.expression = expression_features(result.landmarks);
  result.crop_size = options_.crop_size;
  result.crop = crop_transform(result.landmarks, options_.crop_size);
  return result;
}

FaceResult FaceFrontEnd::Impl::track(const FaceFrontEndOptions& options, const cv::Mat& gray) const {
  const cv::Point2f c = mean_of(last_good.landmarks, 0, kNumLandmarks - 1) + box_offset;
  const cv::Size size = last_good.box.size();
  const cv::Rect box(int(std::lround(c.x - size.width * 0.5f)), int(std::lround(c.y - size.height * 0.5f)), size.width, size.height);
  FaceResult r = fit(options, gray, box);
  // The shape model always returns 68 points; a face that left the box gives a
  // shrunken or exploded shape. Such a fit is dropped and the detector runs.
  const cv::Rect spread = cv::boundingRect(std::vector<cv::Point2f>(r.landmarks.begin(), r.landmarks.end()));
  const double ratio = double(spread.area()) / std::max(1, box.area());
  if (ratio < 0.25 || ratio > 2.5) r.status = FaceStatus::kNone;
  return r;
}

FaceResult FaceFrontEnd::process(const uint8_t* rgb, int width, int height, int stride, double timestamp_s) {
  Impl& s = *impl_;
  double dt = 1.0 / std::max(options_.fps, 1e-3);
  if (timestamp_s >= 0) {
    if (s.have_time && timestamp_s > s.last_time) dt = timestamp_s - s.last_time;
    s.last_time = timestamp_s;
  } else {
    s.last_time = s.have_time ? s.last_time + dt : 0.0;
  }
  s.have_time = true;

  // Scene cut: compare 16x16 grey thumbnails.
  bool cut = false;
  const cv::Mat gray = to_gray(rgb, width, height, stride);
  {
    cv::Mat thumb;
    cv::resize(gray, thumb, cv::Size(16, 16), 0, 0, cv::INTER_AREA);
    if (!s.last_thumb.empty() && options_.scene_cut_level > 0) {
      // 8-bit differences saturate at 0: add both directions.
      cv::Mat d1, d2;
      cv::subtract(thumb, s.last_thumb, d1);
      cv::subtract(s.last_thumb, thumb, d2);
      cut = cv::mean(d1 + d2)[0] > options_.scene_cut_level;
    }
    s.last_thumb = thumb;
  }
  if (cut) {
    s.reset_filter();
    s.have_good = false;
    s.missing = 0;
    s.baseline.reset();  // likely another person
  }

  FaceResult r;
  if (s.have_good && s.missing == 0 && !cut && s.since_detect + 1 < options_.redetect_every) r = s.track(options_, gray);
  if (r.status == FaceStatus::kFresh) {
    ++s.since_detect;
  } else {
    r = s.detect(options_, gray);
    s.since_detect = 0;
    if (r.status == FaceStatus::kFresh)
      s.box_offset = cv::Point2f(r.box.x + r.box.width * 0.5f, r.box.y + r.box.height * 0.5f) - mean_of(r.landmarks, 0, kNumLandmarks - 1);
  }
  if (r.status != FaceStatus::kFresh) {
    s.reset_filter();
    if (s.have_good && s.missing < options_.hold_frames) {
      ++s.missing;
      FaceResult held = s.last_good;
      held.status = FaceStatus::kHeld;
      held.frames_since_fresh = s.missing;
      return held;
    }
    s.have_good = false;
    s.missing = 0;
    s.baseline.reset();
    return r;
  }

  if (options_.smooth) {
    cv::Point2f er, el;
    float iod;
    eye_frame(r.landmarks, er, el, iod);
    if (s.filtered && s.have_good) {
      cv::Point2f per, pel;
      float piod;
      eye_frame(s.last_good.landmarks, per, pel, piod);
      const float jump = dist((er + el) * 0.5f, (per + pel) * 0.5f) / piod;
      if (jump > options_.jump_iod || std::abs(iod / piod - 1.f) > options_.jump_scale) s.reset_filter();
    }
    for (int i = 0; i < kNumLandmarks; ++i) {
      const double x = s.filters[2 * i].step(r.landmarks[i].x, dt, options_.min_cutoff_hz, options_.beta,
                                             options_.d_cutoff_hz, iod);
      const double y = s.filters[2 * i + 1].step(r.landmarks[i].y, dt, options_.min_cutoff_hz, options_.beta,
                                                 options_.d_cutoff_hz, iod);
      r.landmarks[i] = cv::Point2f(float(x), float(y));
    }
    s.filtered = true;
    r.angles = estimate_pose(r.landmarks, width, height);
    r.expression = expression_features(r.landmarks);
    r.crop = crop_transform(r.landmarks, options_.crop_size);
  }
  s.baseline.add(r.expression);
  r.expression_baseline = s.baseline.median();
  r.baseline_frames = s.baseline.count();
  s.last_good = r;
  s.have_good = true;
  s.missing = 0;
  return r;
}

}  // namespace fiancee::face
