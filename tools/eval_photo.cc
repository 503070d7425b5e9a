// `fiancee eval-photo`: one photo animated by one driver video, every variant
// of the one-shot pipeline (warp alone, each forced exit, the backbone, the
// routed refiner) run over the same driver frames in one run. The checks
// need no model of their own: a separate dlib detector (FaceFrontEnd::detect)
// reads the output frames, so the same yardstick applies to every variant.
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/exit_hysteresis.h"
#include "core/route_stats.h"
#include "datasets/face_videos.h"
#include "pipelines/face_frontend.h"
#include "pipelines/reenact.h"
#include "tools/commands.h"
#include "tools/contact_sheet.h"

namespace fiancee::tools {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kProgressEvery = 25;

struct Variant {
  std::string name;
  bool refine = true;
  RouteSettings route;
  int hold = 0;  // exit-hysteresis, frames (0 = off)
};

// warp-only, exit0..exit{n-2}, backbone, routed, routed-held with exit-hysteresis when hold > 0,
// and routed-calibrated with the element's target-miss-rate when target > 0.
std::vector<Variant> variants(const PipelineInfo& info, double threshold, int hold, double target) {
  std::vector<Variant> out{{"warp-only", false, {}}};
  for (int e = 0; e < info.num_exits; ++e) {
    Variant v{e + 1 == info.num_exits ? "backbone" : "exit" + std::to_string(e), true, {}};
    v.route.forced_exit = e;
    out.push_back(v);
  }
  Variant routed{"routed", true, {}};
  routed.route.quality_threshold = threshold;
  routed.route.measure = true;  // for its misses: also renders the backbone
  out.push_back(routed);
  if (target > 0) {
    Variant calibrated = routed;
    calibrated.name = "routed-calibrated";
    calibrated.route.target_miss_rate = target;
    out.push_back(calibrated);
  }
  if (hold > 0) {
    routed.name = "routed-held";
    routed.hold = hold;
    out.push_back(routed);
  }
  return out;
}

// --variants: "all", or names from variants(); an unknown name is an error listing the valid ones.
std::vector<Variant> chosen_variants(const PipelineInfo& info, double threshold, int hold, double target,
                                     const std::vector<std::string>& wanted) {
  const auto all = variants(info, threshold, hold, target);
  if (wanted == std::vector<std::string>{"all"}) return all;
  std::vector<Variant> out;
  std::string valid;
  for (const auto& v : all) valid += (valid.empty() ? "" : ", ") + v.name;
  for (const auto& name : wanted) {
    const auto it = std::find_if(all.begin(), all.end(), [&](const Variant& v) { return v.name == name; });
    if (it == all.end()) throw InputError("--variants: no variant '" + name + "' (this package has: all, " + valid + ")");
    out.push_back(*it);
  }
  if (out.empty()) throw InputError("--variants: name at least one variant (" + valid + ")");
  return out;
}

// dlib's HOG finds faces from ~80 px: images smaller than the detector's
// working size (package crops, small drivers) are scaled up to it first.
std::optional<face::Landmarks> landmarks_of(face::FaceFrontEnd& detector, const cv::Mat& rgb) {
  const double s = std::max(1.0, detector.options().detect_max_side / static_cast<double>(std::max(rgb.cols, rgb.rows)));
  cv::Mat image = rgb;
  if (s > 1) cv::resize(rgb, image, cv::Size(), s, s, cv::INTER_CUBIC);
  const auto face = detector.detect(image.data, image.cols, image.rows, static_cast<int>(image.step));
  if (!face.has_face()) return std::nullopt;
  face::Landmarks lm = face.landmarks;
  for (auto& p : lm) p *= static_cast<float>(1 / s);
  return lm;
}

// Inter-ocular distance: between the means of points 36-41 and 42-47.
double iod(const face::Landmarks& lm) { return face::face_axes(lm).iod; }

double mean_distance(const face::Landmarks& a, const face::Landmarks& b) {
  double sum = 0;
  for (int i = 0; i < face::kNumLandmarks; ++i) sum += cv::norm(a[i] - b[i]);
  return sum / face::kNumLandmarks;
}

// Variance of the Laplacian of the grey image inside the landmarks' bounding
// box. The Laplacian is taken on the whole image so the box's edges see real
// neighbours, not a reflected border.
double detail(const cv::Mat& rgb, const face::Landmarks& lm) {
  const cv::Rect box = cv::boundingRect(std::vector<cv::Point2f>(lm.begin(), lm.end())) & cv::Rect(0, 0, rgb.cols, rgb.rows);
  if (box.width < 3 || box.height < 3) return kNaN;
  cv::Mat grey, lap;
  cv::cvtColor(rgb, grey, cv::COLOR_RGB2GRAY);
  cv::Laplacian(grey, lap, CV_64F);
  cv::Scalar mean, sd;
  cv::meanStdDev(lap(box), mean, sd);
  return sd[0] * sd[0];
}

// The two openings the checks correlate: mouth, and the mean of both eyes.
// roll: the eye line's angle in degrees (image y down: positive turns
// clockwise); length: the chin (8) below the eye line, in IODs. A frontal
// detector misses strongly rolled and strongly stretched faces. yaw: the
// front end's head pose from the landmarks in a frame of that size, degrees.
// Roll and yaw are correlated too: does the head turn as the driver's does.
// shot: on the driver, the checker's own shot number (below).
struct Openness {
  double mouth = 0, eyes = 0, roll = 0, length = 0, yaw = 0;
  int shot = 0;
};
Openness openness(const face::Landmarks& lm, cv::Size frame) {
  const auto f = face::expression_features(lm);
  const auto axes = face::face_axes(lm);
  return {f[face::kMouthOpen], (f[face::kEyeOpenRight] + f[face::kEyeOpenLeft]) / 2.0,
          std::atan2(axes.u.y, axes.u.x) * 180.0 / M_PI, axes.down(lm[8]), face::estimate_pose(lm, frame.width, frame.height).yaw};
}

double mean(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return v.empty() ? kNaN : sum / static_cast<double>(v.size());
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  const double mx = mean(x), my = mean(y);
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  return x.size() < 2 || sxx <= 0 || syy <= 0 ? kNaN : sxy / std::sqrt(sxx * syy);
}

// Pearson after subtracting each shot's mean from both series: how well the
// output follows the driver's changes within a shot, whatever offset each shot
// has. Relative transfer maps each shot's typical driver face onto the
// avatar's own, so a driver's mouth that is shut in one shot and ajar in the
// next is the avatar's photo mouth in both: the pooled correlation counts that
// as an error, this one does not. Shots shorter than kMinShotFrames are left out.
constexpr size_t kMinShotFrames = 10;
// Both series with each shot's mean subtracted (shots under kMinShotFrames left out).
std::pair<std::vector<double>, std::vector<double>> shot_centred(const std::vector<double>& x, const std::vector<double>& y,
                                                                 const std::vector<int>& shot) {
  std::map<int, std::vector<size_t>> members;
  for (size_t i = 0; i < shot.size(); ++i) members[shot[i]].push_back(i);
  std::vector<double> cx, cy;
  for (const auto& [id, idx] : members) {
    if (idx.size() < kMinShotFrames) continue;
    double mx = 0, my = 0;
    for (size_t i : idx) mx += x[i], my += y[i];
    mx /= double(idx.size()), my /= double(idx.size());
    for (size_t i : idx) cx.push_back(x[i] - mx), cy.push_back(y[i] - my);
  }
  return {cx, cy};
}
double shot_centred_pearson(const std::vector<double>& x, const std::vector<double>& y, const std::vector<int>& shot) {
  const auto [cx, cy] = shot_centred(x, y, shot);
  return pearson(cx, cy);
}
// The least-squares slope of y on x within shots: how far the output turns
// when the driver turns by one degree (1 = as far; a correlation cannot see
// an avatar that follows every turn at half its size).
double shot_centred_gain(const std::vector<double>& x, const std::vector<double>& y, const std::vector<int>& shot) {
  const auto [cx, cy] = shot_centred(x, y, shot);
  double sxy = 0, sxx = 0;
  for (size_t i = 0; i < cx.size(); ++i) sxy += cx[i] * cy[i], sxx += cx[i] * cx[i];
  return sxx > 0 ? sxy / sxx : kNaN;
}

struct Row {
  std::string variant;
  int frames = 0, no_driver_face = 0;
  double face_found = kNaN, akd_iod = kNaN, sharpness = kNaN, mouth_corr = kNaN, eye_corr = kNaN, jitter = kNaN, gflops_share = kNaN;
  double mouth_corr_shot = kNaN, eye_corr_shot = kNaN;  // shot_centred_pearson
  double roll_corr_shot = kNaN, yaw_corr_shot = kNaN;    // shot_centred_pearson of the head's roll and yaw
  double roll_gain_shot = kNaN, yaw_gain_shot = kNaN;    // shot_centred_gain of the same
  double switches = kNaN;   // refined variants: exit switches per 100 rendered frames
  double misses = kNaN;     // routed variants: share of rendered frames whose exit measured at or above the threshold
  std::string exit_shares;  // refined variants: share of rendered frames per exit, ';'-separated, exit 0 first
};

// Driver and output openings and head angles of the frames where both faces are found.
struct Openings {
  std::vector<double> mouth_in, mouth_out, eyes_in, eyes_out, roll_in, roll_out, yaw_in, yaw_out;
  std::vector<int> shot;
  void add(const Openness& driver, const Openness& out) {
    mouth_in.push_back(driver.mouth), mouth_out.push_back(out.mouth);
    eyes_in.push_back(driver.eyes), eyes_out.push_back(out.eyes);
    roll_in.push_back(driver.roll), roll_out.push_back(out.roll);
    yaw_in.push_back(driver.yaw), yaw_out.push_back(out.yaw);
    shot.push_back(driver.shot);
  }
  // Openings pooled and within shots; angles within shots only, as relative
  // transfer keeps the avatar's own pose at each shot's typical one.
  void correlate(Row& r) const {
    r.mouth_corr = pearson(mouth_in, mouth_out), r.eye_corr = pearson(eyes_in, eyes_out);
    r.mouth_corr_shot = shot_centred_pearson(mouth_in, mouth_out, shot);
    r.eye_corr_shot = shot_centred_pearson(eyes_in, eyes_out, shot);
    r.roll_corr_shot = shot_centred_pearson(roll_in, roll_out, shot);
    r.yaw_corr_shot = shot_centred_pearson(yaw_in, yaw_out, shot);
    r.roll_gain_shot = shot_centred_gain(roll_in, roll_out, shot);
    r.yaw_gain_shot = shot_centred_gain(yaw_in, yaw_out, shot);
  }
};

// What the pipeline and the variants share, fixed before any variant runs.
struct Setup {
  ReenactOptions options;
  std::string driver, out_dir;
  int frames = 0;                   // driver frames read (<= --frames)
  std::vector<int> sheet_frames;    // frame indices of the contact sheet's rows
  PipelineInfo info;
  cv::Mat avatar;                   // the avatar crop (RGB8)
  double avatar_detail = kNaN;      // detail() of the avatar crop inside its own landmarks
};

// The independent detector on the driver: its openings per frame (none where
// no face). A new shot starts after a frame without a face, or where the eyes'
// midpoint jumps by more than half an IOD or the IOD changes by more than 25%
// from one frame to the next (a cut, or another face found).
std::vector<std::optional<Openness>> read_driver(const std::string& driver, int limit, face::FaceFrontEnd& detector) {
  std::vector<std::optional<Openness>> out;
  std::optional<face::Landmarks> last;
  int shot = 0;
  reenact::for_each_frame(driver, [&](const cv::Mat& frame) {
    const auto lm = landmarks_of(detector, frame);
    if (lm) {
      const face::FaceAxes now = face::face_axes(*lm);
      if (last) {
        const face::FaceAxes before = face::face_axes(*last);
        if (cv::norm(now.mid - before.mid) > 0.5 * before.iod || std::abs(now.iod / before.iod - 1.0) > 0.25) ++shot;
      }
      Openness o = openness(*lm, frame.size());
      o.shot = shot;
      out.push_back(o);
    } else {
      if (last) ++shot;
      out.push_back(std::nullopt);
    }
    last = lm;
    return static_cast<int>(out.size()) < limit;
  });
  if (out.empty()) throw InputError(driver + ": no readable frames in this driver video or folder");
  return out;
}

// One output frame as the checks see it.
struct FrameObs {
  bool rendered = false;            // the pipeline had a driver face (not passed through)
  std::optional<face::Landmarks> detected;  // on the output, rendered frames only
  face::Landmarks target{};         // trace().target_out
  double detail = kNaN;             // detail() of the rendered crop inside trace().target
  double gflops = 0;
  int exit = -1;
  double measured = kNaN;           // routed variants: the taken exit's distance to the backbone
  cv::Size size;                    // the output frame's
};

FrameObs observe(const ReenactPipeline& pipeline, const FrameReport& report, const cv::Mat& out, face::FaceFrontEnd& detector) {
  const auto& t = pipeline.trace();
  if (!t.face || report.passthrough) return {};
  return {true, landmarks_of(detector, out), t.target_out, detail(t.rendered, t.target), report.gflops, report.exit,
          report.measured >= 0 ? report.measured : kNaN, out.size()};
}

cv::Mat grey_tile(int size) { return cv::Mat(size, size, CV_8UC3, cv::Scalar::all(128)); }

// The driver frame's centre square at the crop's size, its frame number on it.
cv::Mat driver_tile(const cv::Mat& frame, int size, int index) {
  const int side = std::min(frame.cols, frame.rows);
  cv::Mat tile;
  cv::resize(frame(cv::Rect((frame.cols - side) / 2, (frame.rows - side) / 2, side, side)), tile, cv::Size(size, size), 0, 0, cv::INTER_AREA);
  cv::putText(tile, "#" + std::to_string(index), {3, size - 5}, cv::FONT_HERSHEY_SIMPLEX, 0.4, cv::Scalar(255, 255, 0), 1, cv::LINE_AA);
  return tile;
}

struct VariantRun {
  std::vector<FrameObs> frames;
  std::vector<cv::Mat> tiles;  // per sheet frame: the rendered crop
  RouteStats stats;            // the element's counters over the same reports (exit switches)
};

// One fresh pipeline over the driver's first setup.frames frames. The first
// variant also fills the driver's sheet tiles (empty until then).
VariantRun run_variant(const Setup& setup, const Variant& v, face::FaceFrontEnd& detector, std::vector<cv::Mat>& driver_tiles) {
  ReenactOptions options = setup.options;
  options.refine = v.refine;
  const auto pipeline = make_reenact_pipeline(options);
  VariantRun run;
  cv::Mat out;
  ExitHysteresis hysteresis;  // as the element applies exit-hysteresis
  reenact::for_each_frame(setup.driver, [&](const cv::Mat& frame) {
    const int i = static_cast<int>(run.frames.size());
    out.create(frame.size(), CV_8UC3);
    FrameReport report;
    RouteSettings route = v.route;
    route.min_exit = hysteresis.floor(v.hold);
    pipeline->process({frame.data, frame.cols, frame.rows, static_cast<int>(frame.step), 3},
                      {out.data, out.cols, out.rows, static_cast<int>(out.step), 3}, route, report);
    hysteresis.update(report, v.hold);
    run.stats.add(report);
    run.frames.push_back(observe(*pipeline, report, out, detector));
    const auto sheet = std::find(setup.sheet_frames.begin(), setup.sheet_frames.end(), i);
    if (sheet != setup.sheet_frames.end()) {
      const size_t k = static_cast<size_t>(sheet - setup.sheet_frames.begin());
      if (driver_tiles[k].empty()) driver_tiles[k] = driver_tile(frame, setup.avatar.cols, i);
      run.tiles.push_back(run.frames.back().rendered ? pipeline->trace().rendered.clone() : grey_tile(setup.avatar.cols));
      write_rgb(setup.out_dir + "/frames/" + v.name + "_" + std::to_string(i) + ".png", out);
    }
    if ((i + 1) % kProgressEvery == 0 || i + 1 == setup.frames)
      std::fprintf(stderr, "eval-photo: variant %s: %d/%d frames\n", v.name.c_str(), i + 1, setup.frames);
    return i + 1 < setup.frames;
  });
  return run;
}


std::string exit_shares(const std::vector<FrameObs>& frames, int num_exits) {
  std::vector<int> counts(static_cast<size_t>(num_exits), 0);
  int rendered = 0;
  for (const auto& f : frames) {
    if (!f.rendered || f.exit < 0 || f.exit >= num_exits) continue;
    ++counts[static_cast<size_t>(f.exit)];
    ++rendered;
  }
  std::string out;
  for (int c : counts) {
    char share[16];
    std::snprintf(share, sizeof share, "%.3f", rendered ? static_cast<double>(c) / rendered : 0.0);
    out += (out.empty() ? "" : ";") + std::string(share);
  }
  return out;
}

Row summarise(const Setup& setup, const Variant& v, const VariantRun& run, const std::vector<std::optional<Openness>>& driver) {
  const auto& frames = run.frames;
  Row r;
  r.variant = v.name;
  r.frames = static_cast<int>(frames.size());
  std::vector<double> found, akd, sharp, gflops, jitter;
  Openings openings;
  // Per frame, for finding the frames behind a figure: frames/<variant>.csv.
  const std::string csv_path = setup.out_dir + "/frames/" + v.name + ".csv";
  std::ofstream csv(csv_path);
  csv << "frame,rendered,face_found,akd_iod,mouth,eyes,exit,gflops\n";
  for (size_t i = 0; i < frames.size(); ++i) {
    const auto& f = frames[i];
    const double a = f.detected ? mean_distance(*f.detected, f.target) / iod(f.target) : kNaN;
    const Openness o = f.detected ? openness(*f.detected, f.size) : Openness{kNaN, kNaN};
    csv << i << "," << f.rendered << "," << bool(f.detected) << "," << a << "," << o.mouth << "," << o.eyes << "," << f.exit << ","
        << f.gflops << "\n";
    if (!f.rendered) {
      ++r.no_driver_face;
      continue;
    }
    found.push_back(f.detected ? 1 : 0);
    if (std::isfinite(f.detail)) sharp.push_back(f.detail / setup.avatar_detail);
    gflops.push_back(f.gflops / setup.info.backbone_gflops);
    if (!f.detected) continue;
    akd.push_back(a);
    if (i > 0 && frames[i - 1].detected) jitter.push_back(mean_distance(*f.detected, *frames[i - 1].detected) / iod(*f.detected));
    if (driver[i]) openings.add(*driver[i], o);
  }
  if (!csv) throw Error(csv_path + ": cannot write CSV");
  r.face_found = mean(found), r.akd_iod = mean(akd), r.sharpness = mean(sharp), r.jitter = mean(jitter), r.gflops_share = mean(gflops);
  openings.correlate(r);
  if (v.refine) {
    r.exit_shares = exit_shares(frames, setup.info.num_exits);
    const auto& counts = run.stats.exit_counts();
    const int64_t routed = std::accumulate(counts.begin(), counts.end(), int64_t(0));
    r.switches = routed ? 100.0 * double(run.stats.exit_switches()) / double(routed) : kNaN;
    if (v.route.measure) {
      std::vector<double> miss;
      for (const auto& f : frames)
        if (f.rendered && std::isfinite(f.measured)) miss.push_back(f.measured >= v.route.quality_threshold ? 1 : 0);
      r.misses = mean(miss);
    }
  }
  return r;
}

// What the motion front asks for: the driver's openings against those of the
// target landmarks (the same for every variant). Its correlations are the
// ceiling of a renderer that drew the target exactly.
Row motion_row(const std::vector<FrameObs>& frames, const std::vector<std::optional<Openness>>& driver, const std::string& csv_path) {
  std::ofstream csv(csv_path);
  csv << "frame,driver_shot,driver_mouth,target_mouth,driver_eyes,target_eyes,driver_roll_deg,target_roll_deg,driver_length_iod,target_length_iod,"
         "driver_yaw_deg,target_yaw_deg\n";
  Row r;
  r.variant = "target";
  r.frames = static_cast<int>(frames.size());
  Openings openings;
  for (size_t i = 0; i < frames.size(); ++i) {
    if (!frames[i].rendered) {
      ++r.no_driver_face;
      continue;
    }
    if (!driver[i]) continue;
    const Openness o = openness(frames[i].target, frames[i].size);
    csv << i << "," << driver[i]->shot << "," << driver[i]->mouth << "," << o.mouth << "," << driver[i]->eyes << "," << o.eyes << ","
        << driver[i]->roll << "," << o.roll << "," << driver[i]->length << "," << o.length << "," << driver[i]->yaw << "," << o.yaw << "\n";
    openings.add(*driver[i], o);
  }
  openings.correlate(r);
  if (!csv) throw Error(csv_path + ": cannot write CSV");
  return r;
}

void write_csv(const std::string& path, const std::vector<Row>& rows) {
  std::ofstream csv(path);
  csv << "variant,frames,no_driver_face,face_found,akd_iod,sharpness,mouth_corr,eye_corr,mouth_corr_shot,eye_corr_shot,roll_corr_shot,"
         "yaw_corr_shot,roll_gain_shot,yaw_gain_shot,jitter,gflops_share,exit_switches_per_100,misses,exit_shares\n";
  for (const auto& r : rows)
    csv << r.variant << "," << r.frames << "," << r.no_driver_face << "," << r.face_found << "," << r.akd_iod << "," << r.sharpness << ","
        << r.mouth_corr << "," << r.eye_corr << "," << r.mouth_corr_shot << "," << r.eye_corr_shot << "," << r.roll_corr_shot << ","
        << r.yaw_corr_shot << "," << r.roll_gain_shot << "," << r.yaw_gain_shot << "," << r.jitter << ","
        << r.gflops_share << "," << r.switches << "," << r.misses << "," << r.exit_shares << "\n";
  if (!csv) throw Error(path + ": cannot write CSV");
}

void print_table(const std::vector<Row>& rows) {
  std::printf("%-11s %6s %14s %10s %8s %9s %10s %8s %10s %8s %9s %8s %9s %8s %8s %12s %12s %6s  %s\n", "variant", "frames",
              "no_driver_face", "face_found", "akd_iod", "sharpness", "mouth_corr", "eye_corr", "mouth_shot", "eye_shot", "roll_shot",
              "yaw_shot", "roll_gain", "yaw_gain", "jitter", "gflops_share", "switches/100", "misses", "exit_shares");
  for (const auto& r : rows)
    std::printf("%-11s %6d %14d %10.3f %8.4f %9.3f %10.3f %8.3f %10.3f %8.3f %9.3f %8.3f %9.3f %8.3f %8.4f %12.3f %12.1f %6.3f  %s\n",
                r.variant.c_str(), r.frames, r.no_driver_face, r.face_found, r.akd_iod, r.sharpness, r.mouth_corr, r.eye_corr,
                r.mouth_corr_shot, r.eye_corr_shot, r.roll_corr_shot, r.yaw_corr_shot, r.roll_gain_shot, r.yaw_gain_shot, r.jitter,
                r.gflops_share, r.switches, r.misses, r.exit_shares.empty() ? "-" : r.exit_shares.c_str());
}

// Rows K evenly spaced over the frames read: the centres of K equal spans.
std::vector<int> sheet_frames(int frames, int k) {
  k = std::min(k, frames);
  std::vector<int> out;
  for (int j = 0; j < k; ++j) out.push_back((2 * j + 1) * frames / (2 * k));
  return out;
}

// The package, the photo and the driver checked and measured once, before any variant.
Setup open_setup(const Options& args, face::FaceFrontEnd& detector) {
  Setup s;
  s.options.model_location = args.positional[0];
  s.options.source_location = args.get("--photo", "");
  s.driver = args.get("--driver", "");
  s.out_dir = args.get("--out", "out/eval-photo");
  s.options.precision = args.get("--precision", "fp32") == "bf16" ? Precision::Bf16 : Precision::Fp32;  // the element's `precision`
  const auto probe = make_reenact_pipeline(s.options);  // throws naming a bad package or a photo without a face
  s.info = probe->info();
  s.avatar = probe->avatar_crop().clone();
  const auto avatar_lm = landmarks_of(detector, s.avatar);
  if (avatar_lm) s.avatar_detail = detail(s.avatar, *avatar_lm);
  else std::fprintf(stderr, "eval-photo: the checks' detector finds no face in the avatar crop: sharpness is nan\n");
  return s;
}

}  // namespace

int eval_photo(const Options& args) {
  if (args.positional.size() != 1) throw InputError("eval-photo takes one package directory");
  if (args.get("--photo", "").empty() || args.get("--driver", "").empty()) throw InputError("eval-photo needs --photo FILE and --driver VIDEO");
  const int limit = args.integer("--frames", 300), k = args.integer("--sheet-frames", 6);
  if (limit < 1 || k < 1) throw InputError("eval-photo needs --frames >= 1 and --sheet-frames >= 1");
  face::FaceFrontEnd detector;
  Setup setup = open_setup(args, detector);
  const double threshold = args.has("--threshold") ? std::stod(args.get("--threshold", "")) : setup.info.default_threshold;
  const auto driver = read_driver(setup.driver, limit, detector);
  setup.frames = static_cast<int>(driver.size());
  setup.sheet_frames = sheet_frames(setup.frames, k);
  std::filesystem::create_directories(setup.out_dir + "/frames");

  std::vector<std::string> titles{"driver", "avatar"};
  std::vector<std::vector<cv::Mat>> columns(2);
  columns[0].resize(setup.sheet_frames.size());
  columns[1].assign(setup.sheet_frames.size(), setup.avatar);
  std::vector<Row> rows;
  const double target = std::stod(args.get("--target-miss-rate", "0"));
  if (!(target >= 0 && target < 1)) throw InputError("--target-miss-rate must be in [0, 1)");
  for (const auto& v : chosen_variants(setup.info, threshold, args.integer("--exit-hysteresis", 0), target, args.list("--variants", "all"))) {
    auto run = run_variant(setup, v, detector, columns[0]);
    if (rows.empty()) rows.push_back(motion_row(run.frames, driver, setup.out_dir + "/motion.csv"));
    rows.push_back(summarise(setup, v, run, driver));
    titles.push_back(v.name);
    columns.push_back(std::move(run.tiles));
  }
  std::printf("fiancee eval-photo %s --photo %s --driver %s --frames %d --out %s --threshold %g --sheet-frames %d "
              "--exit-hysteresis %d --target-miss-rate %g --variants %s --precision %s\n",
              setup.options.model_location.c_str(), setup.options.source_location.c_str(), setup.driver.c_str(), limit,
              setup.out_dir.c_str(), threshold, k, args.integer("--exit-hysteresis", 0), target, args.get("--variants", "all").c_str(),
              args.get("--precision", "fp32").c_str());
  std::printf("%d driver frames; routed threshold %g (%s); exit_shares: exit 0 first, backbone last\n", setup.frames, threshold,
              setup.info.metric_name.c_str());
  print_table(rows);
  write_csv(setup.out_dir + "/eval-photo.csv", rows);
  write_sheet(setup.out_dir + "/contact-sheet.png", titles, columns);
  std::fprintf(stderr, "eval-photo: wrote %s/eval-photo.csv, contact-sheet.png and frames/\n", setup.out_dir.c_str());
  return 0;
}

}  // namespace fiancee::tools
