#include "datasets/head_generator.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "core/errors.h"

namespace fiancee::headgen {

namespace {

constexpr double kPi = 3.14159265358979323846;

// splitmix64: the same numbers on every platform (std distributions are not).
struct Rng {
  uint64_t state;
  // Hash the seed into the state: nearby seeds must not give shifted copies of one stream.
  explicit Rng(uint64_t seed) : state(seed) { state = next() ^ 0x632BE59BD9B4E019ull; }
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return double(next() >> 11) * (1.0 / 9007199254740992.0); }
  float range(double lo, double hi) { return float(lo + (hi - lo) * uniform()); }
  int below(int n) { return int(next() % uint64_t(n)); }
};

cv::Vec3f lerp(const cv::Vec3f& a, const cv::Vec3f& b, float t) { return a + (b - a) * t; }

cv::Vec3f hsv(float h, float s, float v) {  // h in 0..1
  const float r = std::clamp(std::abs(h * 6.f - 3.f) - 1.f, 0.f, 1.f);
  const float g = std::clamp(2.f - std::abs(h * 6.f - 2.f), 0.f, 1.f);
  const float b = std::clamp(2.f - std::abs(h * 6.f - 4.f), 0.f, 1.f);
  return cv::Vec3f(v * (1 - s + s * r), v * (1 - s + s * g), v * (1 - s + s * b));
}

// ---------------------------------------------------------------------------
// Geometry (head frame: mm, x right, y down, z away from the camera, origin
// near the head centre; the eye line is y = 0).

enum Part : int {
  kCranium, kJaw, kChin, kMuzzle, kNoseRidge, kNoseTip, kAlaRight, kAlaLeft,  // face surface (textured)
  kEarRight, kEarLeft, kHair, kLongHair, kNeck, kTorso, kNumParts
};
constexpr int kNumFaceParts = kAlaLeft + 1;

struct Ellipsoid {
  cv::Vec3d c, r;
  bool body = false;  // in the body frame (neck, torso) instead of the head frame
  bool present = true;
};

struct Geometry {
  std::array<Ellipsoid, kNumParts> parts;
  double hair_thickness = 0;
  float lip_gap = 0;
};

Geometry build_geometry(const HeadParams& h, const HeadExpression& e) {
  Geometry g;
  auto& p = g.parts;
  const double hw = h.head_width, hh = h.head_height, jw = h.jaw_width, cl = h.chin_length;
  const double ns = h.nose_size, nl = h.nose_length;
  g.lip_gap = 22.f * std::clamp(e.jaw_open, 0.f, 1.f);
  const double gap = g.lip_gap;
  p[kCranium] = {{0, -18 * hh, 8}, {75 * hw, 100 * hh, 96}};
  const double jaw_ry = 62 * cl;
  p[kJaw] = {{0, -10 + jaw_ry + gap, -38}, {60 * jw, jaw_ry, 52}};
  const double jaw_bottom = -10 + 2 * jaw_ry + gap;
  p[kChin] = {{0, jaw_bottom - 19, -72}, {26 * jw, 20, 22}};
  p[kNoseRidge] = {{0, 16 * nl, -84}, {9 * ns, 26 * nl, 12 * ns}};
  p[kNoseTip] = {{0, 36 * nl, -100 - 6 * (ns - 1)}, {10 * ns, 9 * ns, 10 * ns}};
  p[kAlaRight] = {{-11 * ns, 41 * nl, -89}, {7 * ns, 6 * nl, 7 * ns}};
  p[kAlaLeft] = {{11 * ns, 41 * nl, -89}, {7 * ns, 6 * nl, 7 * ns}};
  p[kMuzzle] = {{0, 60, -76}, {28 * h.mouth_width, 24, 20}};
  p[kEarRight] = {{-73 * hw, 8, 14}, {9, 27, 17}};
  p[kEarLeft] = {{73 * hw, 8, 14}, {9, 27, 17}};
  const double t = h.hair_style == 2 ? 1.5 : (h.hair_style == 1 ? 6 + 10 * h.hair_volume : 4 + 8 * h.hair_volume);
  g.hair_thickness = t;
  p[kHair] = {p[kCranium].c + cv::Vec3d(0, -0.4 * t, 0), p[kCranium].r + cv::Vec3d(t, t, t)};
  p[kLongHair] = {{0, 40, 28}, {88 * hw + 10 * h.hair_volume, 150, 78}};
  p[kLongHair].present = h.hair_style == 1;
  p[kNeck] = {{0, 125, 12}, {50 * jw, 70, 48}, true};
  p[kTorso] = {{0, 290, 40}, {190, 110, 100}, true};
  return g;
}

// Hair covers the cranium above a line that runs from the forehead down to the nape.
bool above_hairline(const cv::Vec3d& p, const HeadParams& h) {
  const double phi = std::atan2(p[0], -(p[2] - 8.0));  // 0 at the front, +-pi at the back
  const double a = std::abs(phi) / kPi;
  const double line = -64.0 * h.head_height + 109.0 * std::pow(a, 1.5);
  return p[1] < line;
}

bool keep_hit(int part, const cv::Vec3d& p, const HeadParams& h) {
  if (part == kHair) return above_hairline(p, h);
  if (part == kLongHair) return p[2] > -25 && p[1] > -30 && p[1] < 175;
  return true;
}

// Front depth of an axis-aligned ellipsoid seen along +z at (x, y), if it covers that point.
bool front_z(const Ellipsoid& e, double x, double y, double& z) {
  const double qx = (x - e.c[0]) / e.r[0], qy = (y - e.c[1]) / e.r[1];
  const double q = qx * qx + qy * qy;
  if (q >= 1) return false;
  z = e.c[2] - e.r[2] * std::sqrt(1 - q);
  return true;
}

// The point of the face surface in front of (x, y) (first hit along +z).
cv::Point3f lift(const Geometry& g, double x, double y) {
  double best = 1e9, z;
  for (int i = 0; i < kNumFaceParts; ++i)
    if (front_z(g.parts[i], x, y, z)) best = std::min(best, z);
  if (best > 1e8) best = 0;  // off the face: should not happen for our layout
  return cv::Point3f(float(x), float(y), float(best));
}

bool inside_outline(const Geometry& g, double x, double y) {
  double z;
  return front_z(g.parts[kCranium], x, y, z) || front_z(g.parts[kJaw], x, y, z) || front_z(g.parts[kChin], x, y, z);
}

// 2D layout (frontal plane, mm) of every landmark and painted feature.
struct Layout {
  std::array<cv::Point2d, face::kNumLandmarks> pt;
  // Dense eye outlines (left-to-right upper curve, then lower curve back) and iris centres.
  std::array<std::vector<cv::Point2d>, 2> eye_upper, eye_lower;
  std::array<cv::Point2d, 2> eye_centre;
  double iris_radius = 5.5;
};

Layout layout(const HeadParams& h, const HeadExpression& e, const Geometry& g) {
  Layout L;
  auto& pt = L.pt;
  // Jaw outline 0-16: where the face silhouette is, from the subject's right (image left) under the chin.
  for (int k = 0; k < 17; ++k) {
    const double th = kPi * k / 16.0;
    const cv::Point2d c0(0, 5), dir(-std::cos(th), std::sin(th));
    double lo = 0, hi = 250;
    for (int it = 0; it < 40; ++it) {
      const double mid = 0.5 * (lo + hi);
      const cv::Point2d q = c0 + dir * mid;
      (inside_outline(g, q.x, q.y) ? lo : hi) = mid;
    }
    pt[k] = c0 + dir * (0.97 * lo);
  }
  // Brows 17-21 (right, outer to inner), 22-26 (left, inner to outer).
  const double raise = -6.0 * e.brows;  // up is -y
  const double frown = std::min(0.f, e.brows);
  const double bx[5] = {-50, -41, -31, -21, -11};
  const double by[5] = {-12, -17, -19, -18, -15};
  for (int i = 0; i < 5; ++i) {
    const double inner = i / 4.0;                           // 0 outer .. 1 inner
    const double dy = raise * (1.0 - 0.3 * inner) - frown * 3.0 * inner * inner;  // frown pulls the inner ends down
    const double dx = -frown * 2.5 * inner;                  // and together
    pt[17 + i] = cv::Point2d(bx[i] * h.eye_spacing + dx, by[i] + dy);
    pt[26 - i] = cv::Point2d(-bx[i] * h.eye_spacing - dx, by[i] + dy);
  }
  // Nose 27-35.
  const double ns = h.nose_size, nl = h.nose_length;
  pt[27] = {0, -2};
  pt[28] = {0, 10 * nl};
  pt[29] = {0, 22 * nl};
  pt[30] = {0, 36 * nl};
  pt[31] = {-13 * ns, 44 * nl};
  pt[32] = {-6.5 * ns, 46 * nl};
  pt[33] = {0, 47 * nl};
  pt[34] = {6.5 * ns, 46 * nl};
  pt[35] = {13 * ns, 44 * nl};
  // Eyes 36-41 (right: outer, upper, upper, inner, lower, lower) and 42-47 (left: inner, ..., outer, ...).
  const double blink = std::clamp(e.blink, 0.f, 1.f);
  const double ex = 31 * h.eye_spacing, ew = 14 * h.eye_size;
  const double hu = 6.0 * h.eye_size, hl = 3.5 * h.eye_size;
  const double up = hu - blink * (hu + hl) * 0.999;
  L.iris_radius = 5.5 * h.eye_size;
  for (int side = 0; side < 2; ++side) {
    const double cx = side == 0 ? -ex : ex;
    // Image-left corner and image-right corner; outer corners sit 1 mm higher.
    const cv::Point2d a(cx - ew, side == 0 ? -1.0 : 0.0), b(cx + ew, side == 0 ? 0.0 : -1.0);
    auto upper = [&](double s) {
      const cv::Point2d base = a + (b - a) * s;
      return base - cv::Point2d(0, up * std::pow(std::sin(kPi * s), 0.8));
    };
    auto lower = [&](double s) {
      const cv::Point2d base = a + (b - a) * s;
      return base + cv::Point2d(0, hl * std::pow(std::sin(kPi * s), 0.8));
    };
    const int o = side == 0 ? 36 : 42;
    pt[o] = a;
    pt[o + 1] = upper(1.0 / 3);
    pt[o + 2] = upper(2.0 / 3);
    pt[o + 3] = b;
    pt[o + 4] = lower(2.0 / 3);
    pt[o + 5] = lower(1.0 / 3);
    for (int i = 0; i <= 16; ++i) {
      L.eye_upper[side].push_back(upper(i / 16.0));
      L.eye_lower[side].push_back(lower(i / 16.0));
    }
    L.eye_centre[side] = cv::Point2d(cx + 3.0 * e.gaze_x, -0.5 + 2.0 * e.gaze_y);
  }
  // Mouth: outer 48-59, inner 60-67.
  const double W = 25 * h.mouth_width * (1 + 0.1 * e.smile), ys = 70, gap = g.lip_gap;
  const double tu = 7 * h.lip_thickness, tl = 9 * h.lip_thickness;
  auto bend = [&](double x) { return -5.0 * e.smile * (x / W) * (x / W); };  // corners up when smiling
  auto P = [&](double x, double y, double lower) { return cv::Point2d(x, y + bend(x) + lower * gap + 0.3 * gap * (std::abs(x) / W)); };
  pt[48] = P(-W, ys, 0);
  pt[49] = P(-0.55 * W, ys - 0.8 * tu, 0);
  pt[50] = P(-0.2 * W, ys - tu - 0.8, 0);
  pt[51] = P(0, ys - tu + 0.8, 0);
  pt[52] = P(0.2 * W, ys - tu - 0.8, 0);
  pt[53] = P(0.55 * W, ys - 0.8 * tu, 0);
  pt[54] = P(W, ys, 0);
  pt[55] = P(0.55 * W, ys + 0.8 * tl, 1);
  pt[56] = P(0.22 * W, ys + tl, 1);
  pt[57] = P(0, ys + tl, 1);
  pt[58] = P(-0.22 * W, ys + tl, 1);
  pt[59] = P(-0.55 * W, ys + 0.8 * tl, 1);
  pt[60] = P(-0.85 * W, ys, 0.1);
  pt[61] = P(-0.4 * W, ys, 0);
  pt[62] = P(0, ys, 0);
  pt[63] = P(0.4 * W, ys, 0);
  pt[64] = P(0.85 * W, ys, 0.1);
  pt[65] = P(0.4 * W, ys, 0.92);
  pt[66] = P(0, ys, 1);
  pt[67] = P(-0.4 * W, ys, 0.92);
  return L;
}

// ---------------------------------------------------------------------------
// Face texture: albedo painted over the frontal plane x in [-100, 100], y in [-120, 150] mm.

constexpr double kTexX0 = -100, kTexY0 = -120, kTexW = 200, kTexH = 270;

class Painter {
 public:
  Painter(cv::Mat& tex, double ppm) : tex_(tex), ppm_(ppm) {}
  cv::Point P(cv::Point2d mm) const {  // 4 fractional bits
    return cv::Point(int(std::lround((mm.x - kTexX0) * ppm_ * 16)), int(std::lround((mm.y - kTexY0) * ppm_ * 16)));
  }
  double px(double mm) const { return mm * ppm_; }
  // Draws into a mask with draw(mask) and blends colour over the texture by mask * opacity;
  // blur_mm softens the edge; multiply: tex *= lerp(1, colour, a) instead of a lerp to colour.
  template <class Draw>
  void paint(Draw draw, const cv::Vec3f& colour, float opacity, double blur_mm = 0, bool multiply = false) {
    cv::Mat mask = cv::Mat::zeros(tex_.size(), CV_32F);
    draw(mask);
    if (blur_mm > 0) cv::GaussianBlur(mask, mask, cv::Size(), std::max(0.3, px(blur_mm)));
    for (int y = 0; y < tex_.rows; ++y) {
      const float* m = mask.ptr<float>(y);
      cv::Vec3f* t = tex_.ptr<cv::Vec3f>(y);
      for (int x = 0; x < tex_.cols; ++x) {
        const float a = std::min(1.f, m[x]) * opacity;
        if (a <= 0) continue;
        if (multiply) {
          for (int c = 0; c < 3; ++c) t[x][c] *= 1.f + (colour[c] - 1.f) * a;
        } else {
          t[x] = t[x] * (1 - a) + colour * a;
        }
      }
    }
  }
  std::vector<cv::Point> poly(const std::vector<cv::Point2d>& pts) const {
    std::vector<cv::Point> out;
    for (const auto& p : pts) out.push_back(P(p));
    return out;
  }
  void fill(cv::Mat& mask, const std::vector<cv::Point2d>& pts) const {
    const std::vector<std::vector<cv::Point>> polys = {poly(pts)};
    cv::fillPoly(mask, polys, cv::Scalar(1.0), cv::LINE_AA, 4);
  }
  void line(cv::Mat& mask, const std::vector<cv::Point2d>& pts, double thick_mm) const {
    const std::vector<std::vector<cv::Point>> polys = {poly(pts)};
    cv::polylines(mask, polys, false, cv::Scalar(1.0), std::max(1, int(std::lround(px(thick_mm)))), cv::LINE_AA, 4);
  }
  void ellipse(cv::Mat& mask, cv::Point2d c, cv::Size2d axes_mm) const {
    cv::ellipse(mask, P(c), cv::Size(int(std::lround(px(axes_mm.width) * 16)), int(std::lround(px(axes_mm.height) * 16))),
                0, 0, 360, cv::Scalar(1.0), cv::FILLED, cv::LINE_AA, 4);
  }

 private:
  cv::Mat& tex_;
  double ppm_;
};

// Smooth value noise: a grid of random values every cell_px pixels, cubic-upsampled.
cv::Mat value_noise(Rng& rng, cv::Size size, double cell_px) {
  const int gw = std::max(2, int(std::ceil(size.width / cell_px)) + 1), gh = std::max(2, int(std::ceil(size.height / cell_px)) + 1);
  cv::Mat grid(gh, gw, CV_32F);
  for (int y = 0; y < gh; ++y)
    for (int x = 0; x < gw; ++x) grid.at<float>(y, x) = float(rng.uniform() * 2 - 1);
  cv::Mat out;
  cv::resize(grid, out, size, 0, 0, cv::INTER_CUBIC);
  return out;
}

cv::Mat face_texture(const HeadParams& h, const HeadExpression& e, const Layout& L, double ppm) {
  const cv::Size size(int(std::ceil(kTexW * ppm)), int(std::ceil(kTexH * ppm)));
  cv::Mat tex(size, CV_32FC3, cv::Scalar(h.skin[0], h.skin[1], h.skin[2]));
  Rng rng(h.seed ^ 0x5EED0FACEull);
  {  // skin mottling
    const cv::Mat low = value_noise(rng, size, 8 * ppm), fine = value_noise(rng, size, 1.2 * ppm);
    for (int y = 0; y < size.height; ++y) {
      cv::Vec3f* t = tex.ptr<cv::Vec3f>(y);
      for (int x = 0; x < size.width; ++x) {
        const float n = 1.f + h.texture * (0.025f * low.at<float>(y, x) + 0.015f * fine.at<float>(y, x));
        t[x] *= n;
      }
    }
  }
  Painter p(tex, ppm);
  const auto& pt = L.pt;
  const cv::Vec3f shadow(0.8f, 0.76f, 0.76f);
  // Cheeks and eye sockets.
  p.paint([&](cv::Mat& m) { p.ellipse(m, {-42, 38}, {16, 11}); p.ellipse(m, {42, 38}, {16, 11}); },
          cv::Vec3f(1.0f, 0.9f, 0.9f), 0.6f, 6, true);
  p.paint(
      [&](cv::Mat& m) {
        p.ellipse(m, {-31 * h.eye_spacing, -4}, {18 * h.eye_size, 10});
        p.ellipse(m, {31 * h.eye_spacing, -4}, {18 * h.eye_size, 10});
      },
      shadow, 0.9f, 4, true);
  // Eyes.
  for (int side = 0; side < 2; ++side) {
    std::vector<cv::Point2d> almond = L.eye_upper[side];
    almond.insert(almond.end(), L.eye_lower[side].rbegin(), L.eye_lower[side].rend());
    cv::Mat eye_mask = cv::Mat::zeros(tex.size(), CV_32F);
    p.fill(eye_mask, almond);
    auto clipped = [&](auto draw) {
      return [&, draw](cv::Mat& m) {
        draw(m);
        m = m.mul(eye_mask);
      };
    };
    p.paint([&](cv::Mat& m) { m += eye_mask; }, cv::Vec3f(0.92f, 0.9f, 0.86f), 1.f);
    const cv::Point2d c = L.eye_centre[side];
    p.paint(clipped([&](cv::Mat& m) { p.ellipse(m, c, {L.iris_radius, L.iris_radius}); }), h.iris, 1.f);
    p.paint(clipped([&](cv::Mat& m) { p.ellipse(m, c, {2.2 * h.eye_size, 2.2 * h.eye_size}); }),
            cv::Vec3f(0.03f, 0.03f, 0.03f), 1.f);
    p.paint(clipped([&](cv::Mat& m) { p.ellipse(m, c + cv::Point2d(1.6, -1.6), {0.8, 0.8}); }),
            cv::Vec3f(1.f, 1.f, 1.f), 0.9f);
    // Upper lid shadow on the eyeball, lash line, crease and lower lid line.
    p.paint(clipped([&](cv::Mat& m) { p.line(m, L.eye_upper[side], 2.5); }), cv::Vec3f(0.45f, 0.4f, 0.4f), 0.5f, 0, true);
    p.paint([&](cv::Mat& m) { p.line(m, L.eye_upper[side], 1.1); }, cv::Vec3f(0.06f, 0.05f, 0.05f), 1.f);
    std::vector<cv::Point2d> crease;
    const double lift_mm = 3.5 * h.eye_size * (1.0 - 0.4 * std::clamp(e.blink, 0.f, 1.f));
    for (size_t i = 2; i + 2 < L.eye_upper[side].size(); ++i) crease.push_back(L.eye_upper[side][i] - cv::Point2d(0, lift_mm));
    p.paint([&](cv::Mat& m) { p.line(m, crease, 0.8); }, cv::Vec3f(0.7f, 0.62f, 0.6f), 0.8f, 0.4, true);
    p.paint([&](cv::Mat& m) { p.line(m, L.eye_lower[side], 0.6); }, cv::Vec3f(0.6f, 0.5f, 0.5f), 0.7f, 0, true);
  }
  // Brows: a tapering band through the five brow points.
  for (int side = 0; side < 2; ++side) {
    std::vector<cv::Point2d> top, bottom;
    for (int i = 0; i < 5; ++i) {
      const cv::Point2d q = pt[side == 0 ? 17 + i : 26 - i];  // outer to inner
      const double th = h.brow_thickness * (2.2 + 0.7 * i);
      top.push_back(q - cv::Point2d(0, 0.5 * th));
      bottom.push_back(q + cv::Point2d(0, 0.5 * th));
    }
    std::vector<cv::Point2d> band = top;
    band.insert(band.end(), bottom.rbegin(), bottom.rend());
    p.paint([&](cv::Mat& m) { p.fill(m, band); }, h.brows, 0.92f, 0.5);
  }
  // Nostrils.
  const double ns = h.nose_size, nl = h.nose_length;
  p.paint([&](cv::Mat& m) { p.ellipse(m, {-5.5 * ns, 44 * nl}, {3.2 * ns, 1.8}); p.ellipse(m, {5.5 * ns, 44 * nl}, {3.2 * ns, 1.8}); },
          cv::Vec3f(0.25f, 0.15f, 0.15f), 0.9f, 0.6, true);
  // Mouth: lips, the opening, upper teeth, the line where the lips meet.
  std::vector<cv::Point2d> outer(pt.begin() + 48, pt.begin() + 60), inner(pt.begin() + 60, pt.begin() + 68);
  p.paint([&](cv::Mat& m) { p.fill(m, outer); }, h.lips, 1.f, 0.3);
  if (L.pt[66].y - L.pt[62].y > 0.3) {
    cv::Mat open = cv::Mat::zeros(tex.size(), CV_32F);
    p.fill(open, inner);
    p.paint([&](cv::Mat& m) { m += open; }, cv::Vec3f(0.18f, 0.05f, 0.06f), 1.f);
    const double teeth = std::min(4.5, 0.45 * (L.pt[66].y - L.pt[62].y));
    p.paint(
        [&](cv::Mat& m) {
          cv::rectangle(m, p.P({-40, pt[62].y - 10}), p.P({40, pt[62].y + teeth}), cv::Scalar(1.0), cv::FILLED, cv::LINE_AA, 4);
          m = m.mul(open);
        },
        cv::Vec3f(0.9f, 0.88f, 0.8f), 1.f);
  }
  p.paint([&](cv::Mat& m) { p.line(m, {pt[60], pt[61], pt[62], pt[63], pt[64]}, 0.8); }, cv::Vec3f(0.4f, 0.25f, 0.25f),
          0.8f, 0, true);
  return tex;
}

cv::Vec3f sample(const cv::Mat& tex, double x_mm, double y_mm, double ppm) {
  const float fx = float((x_mm - kTexX0) * ppm - 0.5), fy = float((y_mm - kTexY0) * ppm - 0.5);
  const int x0 = std::clamp(int(std::floor(fx)), 0, tex.cols - 2), y0 = std::clamp(int(std::floor(fy)), 0, tex.rows - 2);
  const float ax = std::clamp(fx - x0, 0.f, 1.f), ay = std::clamp(fy - y0, 0.f, 1.f);
  const cv::Vec3f* r0 = tex.ptr<cv::Vec3f>(y0);
  const cv::Vec3f* r1 = tex.ptr<cv::Vec3f>(y0 + 1);
  return (r0[x0] * (1 - ax) + r0[x0 + 1] * ax) * (1 - ay) + (r1[x0] * (1 - ax) + r1[x0 + 1] * ax) * ay;
}

// ---------------------------------------------------------------------------
// Camera placement.

struct Placement {
  cv::Matx33d head_r, body_r;
  cv::Vec3d head_pivot{0, 60, 10}, body_pivot{0, 150, 10};
  cv::Vec3d origin;  // where the head frame's origin sits at rest, camera frame
  double f = 0, cx = 0, cy = 0;

  cv::Vec3d head_to_camera(const cv::Vec3d& p) const { return head_r * (p - head_pivot) + head_pivot + origin; }
};

Placement place(const HeadPose& pose, int size) {
  Placement pl;
  pl.head_r = face::rotation_from_angles({pose.yaw, pose.pitch, pose.roll});
  pl.body_r = face::rotation_from_angles({0.25f * pose.yaw, 0.1f * pose.pitch, 0.3f * pose.roll});
  const double z = 500.0 * pose.distance, zf = z - 85.0;
  pl.origin = cv::Vec3d(pose.shift_x * zf, -20.0 + pose.shift_y * zf, z);
  pl.f = size;
  pl.cx = size / 2.0;
  pl.cy = size / 2.0;
  return pl;
}

}  // namespace

// ---------------------------------------------------------------------------

HeadParams sample_identity(uint64_t seed) {
  Rng r(seed);
  HeadParams h;
  h.seed = seed;
  h.head_width = r.range(0.9, 1.1);
  h.head_height = r.range(0.93, 1.07);
  h.jaw_width = r.range(0.85, 1.15);
  h.chin_length = r.range(0.9, 1.1);
  h.nose_size = r.range(0.8, 1.25);
  h.nose_length = r.range(0.9, 1.12);
  h.eye_size = r.range(0.85, 1.15);
  h.eye_spacing = r.range(0.95, 1.05);
  h.mouth_width = r.range(0.85, 1.15);
  h.lip_thickness = r.range(0.7, 1.3);
  h.brow_thickness = r.range(0.7, 1.5);
  const int style = r.below(10);
  h.hair_style = style < 5 ? 0 : (style < 9 ? 1 : 2);
  h.hair_volume = r.range(0.5, 1.5);
  // Skin from light to dark, slightly warmer or cooler.
  const float tone = r.range(0, 1);
  h.skin = lerp(cv::Vec3f(0.96f, 0.8f, 0.69f), cv::Vec3f(0.38f, 0.24f, 0.16f), tone);
  h.skin[0] *= r.range(0.97, 1.03);
  h.skin[2] *= r.range(0.92, 1.05);
  static const cv::Vec3f hair_palette[] = {{0.06f, 0.05f, 0.05f}, {0.2f, 0.12f, 0.07f}, {0.38f, 0.24f, 0.13f},
                                           {0.75f, 0.6f, 0.35f},  {0.6f, 0.25f, 0.1f},  {0.6f, 0.6f, 0.6f}};
  h.hair = hair_palette[r.below(6)] * r.range(0.85, 1.1);
  h.brows = h.hair * 0.75f;
  for (int c = 0; c < 3; ++c) h.brows[c] = std::min(h.brows[c], h.skin[c] * 0.55f);  // brows darker than skin
  static const cv::Vec3f iris_palette[] = {{0.3f, 0.18f, 0.1f}, {0.2f, 0.35f, 0.55f}, {0.3f, 0.4f, 0.25f}, {0.4f, 0.42f, 0.45f}};
  h.iris = iris_palette[r.below(4)];
  h.lips = cv::Vec3f(h.skin[0] * 0.85f, h.skin[1] * 0.55f, h.skin[2] * 0.6f);
  h.clothing = hsv(r.range(0, 1), r.range(0.2, 0.8), r.range(0.2, 0.8));
  const float bh = r.range(0, 1);
  h.background_top = hsv(bh, r.range(0.05, 0.4), r.range(0.5, 0.9));
  h.background_bottom = hsv(bh + r.range(-0.1, 0.1) + (bh < 0.1f ? 0.1f : 0.f), r.range(0.05, 0.4), r.range(0.25, 0.6));
  h.texture = r.range(0.5, 1.5);
  h.light = cv::Vec3f(r.range(-0.6, 0.6), r.range(-0.6, 0.1), -1.f);
  h.ambient = r.range(0.3, 0.5);
  return h;
}

HeadPose sample_pose(uint64_t seed, float max_yaw, float max_pitch, float max_roll) {
  Rng r(seed ^ 0xB0551E5ull);
  HeadPose p;
  p.yaw = r.range(-max_yaw, max_yaw);
  p.pitch = r.range(-max_pitch, max_pitch);
  p.roll = r.range(-max_roll, max_roll);
  p.distance = r.range(0.9, 1.15);
  p.shift_x = r.range(-0.05, 0.05);
  p.shift_y = r.range(-0.04, 0.04);
  return p;
}

HeadExpression sample_expression(uint64_t seed) {
  Rng r(seed ^ 0xE4E55ull);
  HeadExpression e;
  e.jaw_open = r.uniform() < 0.4 ? 0.f : r.range(0, 1);
  e.smile = r.range(-0.6, 1.0);
  e.blink = r.uniform() < 0.75 ? r.range(0, 0.2) : r.range(0.2, 1);
  e.brows = r.range(-1, 1);
  e.gaze_x = r.range(-0.6, 0.6);
  e.gaze_y = r.range(-0.4, 0.4);
  return e;
}

Landmarks3D model_landmarks(const HeadParams& head, const HeadExpression& expression) {
  const Geometry g = build_geometry(head, expression);
  const Layout L = layout(head, expression, g);
  Landmarks3D out;
  for (int i = 0; i < face::kNumLandmarks; ++i) out[i] = lift(g, L.pt[i].x, L.pt[i].y);
  return out;
}

face::Landmarks project_landmarks(const HeadParams& head, const HeadPose& pose, const HeadExpression& expression,
                                  int size) {
  const Placement pl = place(pose, size);
  const Landmarks3D m = model_landmarks(head, expression);
  face::Landmarks out;
  for (int i = 0; i < face::kNumLandmarks; ++i) {
    const cv::Vec3d c = pl.head_to_camera(cv::Vec3d(m[i].x, m[i].y, m[i].z));
    out[i] = cv::Point2f(float(pl.f * c[0] / c[2] + pl.cx), float(pl.f * c[1] / c[2] + pl.cy));
  }
  return out;
}

cv::Mat render(const HeadParams& head, const HeadPose& pose, const HeadExpression& expression, int size,
               face::Landmarks* landmarks, int supersample) {
  if (size < 16 || size > 4096) throw InputError("head generator: image size " + std::to_string(size) + " not in 16..4096");
  const int ss = std::clamp(supersample, 1, 4);
  const int n = size * ss;
  const Geometry g = build_geometry(head, expression);
  const Layout L = layout(head, expression, g);
  const Placement pl = place(pose, size);
  const double ppm = std::clamp(std::ceil(1.5 * n / (500.0 * pose.distance - 85.0)), 2.0, 8.0);
  const cv::Mat tex = face_texture(head, expression, L, ppm);

  Rng rng(head.seed ^ 0xBAC6600Dull);
  // Background: vertical gradient with soft blotches.
  const cv::Mat bg_noise = value_noise(rng, cv::Size(n, n), n / 6.0);
  // Hair strands: noise around the head (by angle) and fabric noise on the clothes.
  std::vector<float> strands(1440);
  for (auto& s : strands) s = float(rng.uniform() * 2 - 1);
  std::vector<float> strands_smooth(strands.size());
  for (size_t i = 0; i < strands.size(); ++i) {
    float acc = 0;
    for (int k = -2; k <= 2; ++k) acc += strands[(i + strands.size() + k) % strands.size()];
    strands_smooth[i] = acc / 5.f;
  }
  const cv::Mat cloth_noise = value_noise(rng, cv::Size(n, n), n / 40.0);

  cv::Vec3d light(head.light[0], head.light[1], head.light[2]);
  light /= cv::norm(light);
  const cv::Matx33d rh_t = pl.head_r.t(), rb_t = pl.body_r.t();
  // Camera origin in the head and body frames.
  const cv::Vec3d o_head = rh_t * (-pl.head_pivot - pl.origin) + pl.head_pivot;
  const cv::Vec3d o_body = rb_t * (-pl.body_pivot - pl.origin) + pl.body_pivot;
  struct Prepared {
    cv::Vec3d c, ir, o;  // centre, inverse radii, ray origin relative to centre scaled by ir
    bool body, present;
  };
  std::array<Prepared, kNumParts> prep;
  for (int i = 0; i < kNumParts; ++i) {
    const Ellipsoid& e = g.parts[i];
    Prepared& p = prep[i];
    p.c = e.c;
    p.ir = cv::Vec3d(1 / e.r[0], 1 / e.r[1], 1 / e.r[2]);
    p.body = e.body;
    p.present = e.present;
    p.o = (e.body ? o_body : o_head) - e.c;
    p.o = cv::Vec3d(p.o[0] * p.ir[0], p.o[1] * p.ir[1], p.o[2] * p.ir[2]);
  }

  cv::Mat img(n, n, CV_32FC3);
  for (int v = 0; v < n; ++v) {
    cv::Vec3f* row = img.ptr<cv::Vec3f>(v);
    const double py = ((v + 0.5) / ss - 0.5 - pl.cy) / pl.f;
    for (int u = 0; u < n; ++u) {
      const double px = ((u + 0.5) / ss - 0.5 - pl.cx) / pl.f;
      const cv::Vec3d d_cam(px, py, 1.0);
      const cv::Vec3d d_head = rh_t * d_cam, d_body = rb_t * d_cam;
      double best_t = 1e30;
      int best = -1;
      for (int i = 0; i < kNumParts; ++i) {
        const Prepared& p = prep[i];
        if (!p.present) continue;
        const cv::Vec3d& d = p.body ? d_body : d_head;
        const cv::Vec3d ds(d[0] * p.ir[0], d[1] * p.ir[1], d[2] * p.ir[2]);
        const double a = ds.dot(ds), b = p.o.dot(ds), c = p.o.dot(p.o) - 1;
        const double disc = b * b - a * c;
        if (disc <= 0) continue;
        const double sq = std::sqrt(disc);
        for (double t : {(-b - sq) / a, (-b + sq) / a}) {
          if (t <= 0 || t >= best_t) continue;
          if (i == kHair || i == kLongHair) {
            const cv::Vec3d hit = o_head + d_head * t;
            if (!keep_hit(i, hit, head)) continue;
          }
          best_t = t;
          best = i;
          break;
        }
      }
      cv::Vec3f colour;
      if (best < 0) {
        const float t = float(v) / float(n - 1);
        colour = lerp(head.background_top, head.background_bottom, t) * (1.f + 0.06f * head.texture * bg_noise.at<float>(v, u));
      } else {
        const Prepared& p = prep[best];
        const bool body = p.body;
        const cv::Vec3d hit = (body ? o_body : o_head) + (body ? d_body : d_head) * best_t;
        const cv::Vec3d q = hit - p.c;
        cv::Vec3d nrm(q[0] * p.ir[0] * p.ir[0], q[1] * p.ir[1] * p.ir[1], q[2] * p.ir[2] * p.ir[2]);
        nrm /= cv::norm(nrm);
        cv::Vec3d n_cam = (body ? pl.body_r : pl.head_r) * nrm;
        if (n_cam.dot(d_cam) > 0) n_cam = -n_cam;  // inside of a hair shell
        cv::Vec3f albedo;
        float gloss = 0.06f;
        if (best < kNumFaceParts) {
          albedo = sample(tex, hit[0], hit[1], ppm);
        } else if (best == kEarRight || best == kEarLeft) {
          albedo = cv::Vec3f(head.skin[0] * 0.97f, head.skin[1] * 0.88f, head.skin[2] * 0.86f);
        } else if (best == kHair || best == kLongHair) {
          const double phi = std::atan2(hit[0], -(hit[2] - 8.0));
          const int k = int((phi + kPi) / (2 * kPi) * strands.size()) % int(strands.size());
          albedo = head.hair * (1.f + 0.25f * head.texture * strands_smooth[k]);
          gloss = 0.12f;
        } else if (best == kNeck) {
          albedo = head.skin * 0.85f;
        } else {
          albedo = head.clothing * (1.f + 0.08f * head.texture * cloth_noise.at<float>(v, u));
          gloss = 0.02f;
        }
        const double lambert = std::max(0.0, n_cam.dot(light));
        cv::Vec3d view = -d_cam;
        view /= cv::norm(view);
        cv::Vec3d half = light + view;
        half /= cv::norm(half);
        const double spec = gloss * std::pow(std::max(0.0, n_cam.dot(half)), 24.0);
        const float shade = float(head.ambient + (1.0 - head.ambient) * lambert);
        colour = albedo * shade + cv::Vec3f(1, 1, 1) * float(spec);
      }
      row[u] = colour;
    }
  }
  cv::Mat small;
  if (ss > 1)
    cv::resize(img, small, cv::Size(size, size), 0, 0, cv::INTER_AREA);
  else
    small = img;
  cv::Mat out;
  small.convertTo(out, CV_8UC3, 255.0);
  if (landmarks) *landmarks = project_landmarks(head, pose, expression, size);
  return out;
}

}  // namespace fiancee::headgen
