#include "pipelines/warp.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include <opencv2/imgproc.hpp>

#include "core/errors.h"

namespace fiancee::warp {

namespace {

constexpr double kPi = 3.14159265358979323846;

cv::Point2f mean_of(const face::Landmarks& l, int first, int last) {
  cv::Point2f s(0.f, 0.f);
  for (int i = first; i <= last; ++i) s += l[i];
  return s * (1.f / float(last - first + 1));
}

cv::Point2f clamp_inside(cv::Point2f p, int size) {
  const float hi = float(size) - 2.f;
  return {std::clamp(p.x, 1.f, hi), std::clamp(p.y, 1.f, hi)};
}

}  // namespace

std::optional<Skull> skull(const face::Landmarks& landmarks, int size) {
  // The rotation from the 3D pose; scale and position by a least-squares fit
  // of the rotated mean face's eye and nose points, projected orthographically,
  // to the landmarks. The perspective pose's depth (hence its scale) is
  // less reliable at turns than its rotation.
  const face::HeadAngles a = face::estimate_pose(landmarks, size, size);
  const cv::Matx33d r = face::rotation_from_angles(a);
  std::vector<cv::Point2d> model, image;
  for (const auto& p : face::mean_face_points()) {
    if (p.landmark == 8 || p.landmark == 48 || p.landmark == 54) continue;  // they move with the expression
    const cv::Vec3d q = r * cv::Vec3d(p.position.x, p.position.y, p.position.z);
    model.emplace_back(q[0], q[1]);
    image.emplace_back(landmarks[p.landmark]);
  }
  cv::Point2d mm(0, 0), mi(0, 0);
  for (size_t i = 0; i < model.size(); ++i) mm += model[i], mi += image[i];
  mm *= 1.0 / double(model.size()), mi *= 1.0 / double(model.size());
  double num = 0, den = 0;
  for (size_t i = 0; i < model.size(); ++i) num += (image[i] - mi).dot(model[i] - mm), den += (model[i] - mm).dot(model[i] - mm);
  const double scale = num / den;
  const cv::Vec3d c = r * cv::Vec3d(kSkullCentreMm[0], kSkullCentreMm[1], kSkullCentreMm[2]);
  const Skull s{cv::Point2f(mi + scale * (cv::Point2d(c[0], c[1]) - mm)), float(scale), float(a.roll * kPi / 180.0)};
  if (!(scale > 0) || !std::isfinite(scale) || !std::isfinite(s.centre.x) || !std::isfinite(s.centre.y) || !std::isfinite(s.roll))
    return std::nullopt;
  return s;
}

Mesh make_mesh(const face::Landmarks& avatar, int size) {
  Mesh m;
  m.size = size;
  const cv::Point2f eyes = mean_of(avatar, 36, 47);
  const cv::Point2f chin = avatar[8];
  const float h = float(cv::norm(chin - eyes));
  const float half_width = 0.5f * float(cv::norm(avatar[16] - avatar[0]));
  for (const auto& p : avatar)
    if (!std::isfinite(p.x) || !std::isfinite(p.y)) throw InputError("avatar landmarks are not finite");
  if (!(h > 4.f) || !(half_width > 4.f) || !std::isfinite(h))
    throw InputError("avatar face is too small or degenerate for the warp (eyes to chin " + std::to_string(h) + " px in a " +
                     std::to_string(size) + " px crop)");
  const cv::Point2f down = (chin - eyes) * (1.f / h), right(-down.y, down.x);
  m.points.assign(avatar.begin(), avatar.end());
  const auto head = skull(avatar, size);
  if (!head) throw InputError("avatar landmarks give no head pose for the warp");
  m.skull = *head;
  // The ring: wide enough to hold the ears, high enough for the hair, below the chin.
  for (int i = 0; i < kRingPoints; ++i) {
    const double t = 2.0 * kPi * i / kRingPoints;
    const float c = float(std::cos(t)), s = float(std::sin(t));
    const float radius_down = s > 0 ? 1.3f * h : 1.25f * h;
    m.ring[i] = clamp_inside(eyes + right * (1.4f * half_width * c) + down * (radius_down * s), size);
    m.points.push_back(m.ring[i]);
  }
  const float last = float(size - 1);
  for (int k = 0; k < kBorderPerSide - 1; ++k) {
    const float f = last * float(k) / float(kBorderPerSide - 1);
    m.points.push_back({f, 0.f});
    m.points.push_back({last, f});
    m.points.push_back({last - f, last});
    m.points.push_back({0.f, last - f});
  }
  // Delaunay on a copy whose coincident points (closed lips or eyelids) are
  // nudged apart, so every point is its own vertex; the mesh keeps the true positions.
  std::vector<cv::Point2f> sep = m.points;
  for (size_t i = 0; i < sep.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (cv::norm(sep[i] - sep[j]) < 0.5) sep[i].y = std::min(sep[i].y + 0.75f, last);
  // The rectangle must hold every point: landmarks of a face near the crop's edge may lie outside it.
  cv::Rect bounds = cv::boundingRect(sep) | cv::Rect(0, 0, size, size);
  bounds.x -= 2, bounds.y -= 2, bounds.width += 4, bounds.height += 4;
  cv::Subdiv2D subdiv(bounds);
  std::map<std::pair<float, float>, int> index;
  for (size_t i = 0; i < sep.size(); ++i) {
    subdiv.insert(sep[i]);
    index.emplace(std::make_pair(sep[i].x, sep[i].y), int(i));
  }
  std::vector<cv::Vec6f> tris;
  subdiv.getTriangleList(tris);
  for (const auto& t : tris) {
    cv::Vec3i v;
    bool ok = true;
    for (int k = 0; k < 3 && ok; ++k) {
      const auto it = index.find({t[2 * k], t[2 * k + 1]});
      ok = it != index.end();
      if (ok) v[k] = it->second;
    }
    if (ok) m.triangles.push_back(v);
  }
  if (m.triangles.empty()) throw InputError("avatar landmarks give no warp mesh");
  return m;
}

std::vector<cv::Point2f> mesh_targets(const Mesh& mesh, const face::Landmarks& target) {
  // A target without a usable pose (not a face's shape) leaves the ring where it is.
  const Skull from = mesh.skull, to = skull(target, mesh.size).value_or(from);
  // Image y points down, so this rotation by a positive roll difference is clockwise, as roll is.
  const float k = to.pixels_per_mm / from.pixels_per_mm, c = k * std::cos(to.roll - from.roll), s = k * std::sin(to.roll - from.roll);
  std::vector<cv::Point2f> out(mesh.points.size());
  std::copy(target.begin(), target.end(), out.begin());
  for (int i = 0; i < kRingPoints; ++i) {
    const cv::Point2f d = mesh.ring[i] - from.centre;
    out[face::kNumLandmarks + i] = clamp_inside(to.centre + cv::Point2f(c * d.x - s * d.y, s * d.x + c * d.y), mesh.size);
  }
  for (size_t i = face::kNumLandmarks + kRingPoints; i < out.size(); ++i) out[i] = mesh.points[i];
  return out;
}

cv::Mat backward_map(const Mesh& mesh, const std::vector<cv::Point2f>& targets) {
  const int n = mesh.size;
  cv::Mat map(n, n, CV_32FC2);
  for (int y = 0; y < n; ++y) {
    auto* row = map.ptr<cv::Vec2f>(y);
    for (int x = 0; x < n; ++x) row[x] = cv::Vec2f(float(x), float(y));
  }
  for (const auto& tri : mesh.triangles) {
    const cv::Point2f t0 = targets[tri[0]], t1 = targets[tri[1]], t2 = targets[tri[2]];
    const double area = double(t1.x - t0.x) * (t2.y - t0.y) - double(t2.x - t0.x) * (t1.y - t0.y);
    if (std::abs(area) < 1e-6) continue;
    const cv::Point2f s0 = mesh.points[tri[0]], s1 = mesh.points[tri[1]], s2 = mesh.points[tri[2]];
    const int x0 = std::max(0, int(std::floor(std::min({t0.x, t1.x, t2.x}))));
    const int x1 = std::min(n - 1, int(std::ceil(std::max({t0.x, t1.x, t2.x}))));
    const int y0 = std::max(0, int(std::floor(std::min({t0.y, t1.y, t2.y}))));
    const int y1 = std::min(n - 1, int(std::ceil(std::max({t0.y, t1.y, t2.y}))));
    const double eps = -1e-4 * std::abs(area);
    for (int y = y0; y <= y1; ++y) {
      auto* row = map.ptr<cv::Vec2f>(y);
      for (int x = x0; x <= x1; ++x) {
        // Barycentric weights of pixel (x, y) in the target triangle.
        const double w1 = (double(x - t0.x) * (t2.y - t0.y) - double(t2.x - t0.x) * (y - t0.y)) / area;
        const double w2 = (double(t1.x - t0.x) * (y - t0.y) - double(x - t0.x) * (t1.y - t0.y)) / area;
        const double w0 = 1.0 - w1 - w2;
        if (w0 * std::abs(area) < eps || w1 * std::abs(area) < eps || w2 * std::abs(area) < eps) continue;
        row[x] = cv::Vec2f(float(w0 * s0.x + w1 * s1.x + w2 * s2.x), float(w0 * s0.y + w1 * s1.y + w2 * s2.y));
      }
    }
  }
  return map;
}

cv::Mat apply(const cv::Mat& avatar, const cv::Mat& map) {
  cv::Mat out;
  cv::remap(avatar, out, map, cv::noArray(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  return out;
}

cv::Mat part_masks(const face::Landmarks& target, int size) {
  constexpr int kShift = 2;  // sub-pixel polygon edges
  auto poly = [&](int first, int last) {
    std::vector<cv::Point> p;
    for (int i = first; i <= last; ++i) p.emplace_back(int(std::lround(target[i].x * 4)), int(std::lround(target[i].y * 4)));
    return p;
  };
  cv::Mat mouth = cv::Mat::zeros(size, size, CV_8U), eyes = cv::Mat::zeros(size, size, CV_8U);
  cv::fillPoly(mouth, std::vector<std::vector<cv::Point>>{poly(60, 67)}, cv::Scalar(255), cv::LINE_AA, kShift);
  cv::fillPoly(eyes, std::vector<std::vector<cv::Point>>{poly(36, 41), poly(42, 47)}, cv::Scalar(255), cv::LINE_AA, kShift);
  cv::Mat planes[2], out;
  mouth.convertTo(planes[0], CV_32F, 1.0 / 255);
  eyes.convertTo(planes[1], CV_32F, 1.0 / 255);
  cv::merge(planes, 2, out);
  cv::GaussianBlur(out, out, cv::Size(3, 3), 0);
  return out;
}

}  // namespace fiancee::warp
