#include "pipelines/avatar.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/errors.h"
#include "core/file_access.h"
#include "pipelines/image_header.h"
#include "pipelines/reenact_inputs.h"

namespace fiancee {

namespace {

cv::Matx23f compose_affine(const cv::Matx23f& outer, const cv::Matx23f& inner) {
  const cv::Matx33f a(outer(0, 0), outer(0, 1), outer(0, 2), outer(1, 0), outer(1, 1), outer(1, 2), 0, 0, 1);
  const cv::Matx33f b(inner(0, 0), inner(0, 1), inner(0, 2), inner(1, 0), inner(1, 1), inner(1, 2), 0, 0, 1);
  const cv::Matx33f c = a * b;
  return cv::Matx23f(c(0, 0), c(0, 1), c(0, 2), c(1, 0), c(1, 1), c(1, 2));
}

}  // namespace

cv::Mat read_rgb8(const std::string& path, const std::string& what) {
  const std::string name = what + " '" + path + "'";
  const std::string bytes = read_regular_file(path, FileKind::Input, kMaxPhotoBytes, name);
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  int reduced = 1;  // JPEG decodes at 1/reduced scale
  try {
    if (const auto header = probe_image_bytes(data, bytes.size())) {
      const auto pixels = [&](int f) { return ((header->width + f - 1) / f) * ((header->height + f - 1) / f); };
      while (pixels(reduced) > kMaxPhotoPixels && header->format == "JPEG" && reduced < 8) reduced *= 2;
      if (pixels(reduced) > kMaxPhotoPixels)
        throw InputError(std::to_string(header->width) + "x" + std::to_string(header->height) + " pixels is more than the " +
                         std::to_string(kMaxPhotoPixels >> 20) + " megapixels a photo may have; scale it down first");
    }
  } catch (const InputError& e) {
    throw InputError(name + ": " + e.what());
  }
  const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8U, const_cast<uint8_t*>(data));
  cv::Mat img;
  if (reduced == 1) {
    img = cv::imdecode(buffer, cv::IMREAD_UNCHANGED);
    if (img.empty()) throw InputError(name + ": not a readable image (PNG, JPEG, BMP, TIFF, WebP...)");
  }
  // The colour modes apply EXIF orientation and make grey and 16-bit 8-bit BGR.
  if (img.channels() != 4)
    img = cv::imdecode(buffer, reduced == 8   ? cv::IMREAD_REDUCED_COLOR_8
                               : reduced == 4 ? cv::IMREAD_REDUCED_COLOR_4
                               : reduced == 2 ? cv::IMREAD_REDUCED_COLOR_2
                                              : cv::IMREAD_COLOR);
  if (img.depth() == CV_16U) img.convertTo(img, CV_8U, 1.0 / 257.0);
  if (img.depth() != CV_8U || img.empty())
    throw InputError(name + ": unsupported pixel format (need 8- or 16-bit grey, RGB or RGBA)");
  cv::Mat rgb;
  if (img.channels() == 4) {
    // Transparent pixels show mid-grey, a neutral backdrop for the refiner.
    rgb.create(img.size(), CV_8UC3);
    for (int y = 0; y < img.rows; ++y) {
      const auto* s = img.ptr<cv::Vec4b>(y);
      auto* d = rgb.ptr<cv::Vec3b>(y);
      for (int x = 0; x < img.cols; ++x) {
        const int a = s[x][3];
        for (int c = 0; c < 3; ++c) d[x][2 - c] = cv::saturate_cast<uint8_t>((s[x][c] * a + 128 * (255 - a) + 127) / 255);
      }
    }
  } else {
    cv::cvtColor(img, rgb, cv::COLOR_BGR2RGB);
  }
  return rgb;
}

Avatar::Avatar(const std::string& path, int crop_size, const std::string& landmark_model)
    : Avatar(read_rgb8(path, "source-location"), "source-location '" + path + "'", crop_size, landmark_model) {}

Avatar::Avatar(const cv::Mat& photo_rgb, const std::string& name, int crop_size, const std::string& landmark_model) {
  if (photo_rgb.type() != CV_8UC3 || photo_rgb.empty()) throw InputError(name + ": not an 8-bit RGB image");
  const int longer = std::max(photo_rgb.cols, photo_rgb.rows);
  if (longer > kMaxPhotoSide) {
    const double f = double(kMaxPhotoSide) / longer;
    cv::resize(photo_rgb, photo_, cv::Size(), f, f, cv::INTER_AREA);
  } else {
    photo_ = photo_rgb.clone();
  }
  crop_.create(crop_size, crop_size, CV_8UC3);
  set_up(name, landmark_model);
}

void Avatar::set_up(const std::string& name, const std::string& landmark_model) {
  const int cs = crop_.cols;
  face::FaceFrontEndOptions fo;
  if (!landmark_model.empty()) fo.model_path = landmark_model;
  fo.crop_size = cs;
  fo.detect_max_side = 1024;                                           // a still: take time to find smaller faces
  fo.detect_upsample = std::max(photo_.cols, photo_.rows) < 640 ? 1 : 0;  // small photos: faces from ~40 px
  face::FaceFrontEnd detector(fo);
  const auto face = detector.detect(photo_.data, photo_.cols, photo_.rows, int(photo_.step));
  if (!face.has_face())
    throw InputError(name + ": no face found in the photo (" + std::to_string(photo_.cols) + "x" + std::to_string(photo_.rows) +
                     "); the avatar needs one face, roughly frontal, at least about 60 pixels between temples");
  photo_to_crop_ = reenact::align_crop(photo_, face.landmarks, cs, crop_, landmarks_);
  try {
    mesh_ = warp::make_mesh(landmarks_, cs);
  } catch (const std::exception& e) {
    throw InputError(name + ": the face found cannot be animated: " + e.what());
  }
}

const Avatar::View& Avatar::view(cv::Size size) {
  if (view_.size == size) return view_;
  const int cs = crop_.cols;
  cv::Matx23f crop_to_photo;
  cv::invertAffineTransform(photo_to_crop_, crop_to_photo);
  const cv::Point2f centre = face::transform(crop_to_photo, {cs * 0.5f, cs * 0.5f});
  const double side = cs / std::hypot(photo_to_crop_(0, 0), photo_to_crop_(1, 0));  // the crop's side in photo pixels
  // The largest window of the output's aspect inside the photo, but not much
  // wider than the head, so the face fills the frame; centred on the face.
  const double aspect = double(size.width) / size.height;
  double vw = photo_.cols, vh = photo_.cols / aspect;
  if (vh > photo_.rows) vh = photo_.rows, vw = photo_.rows * aspect;
  const double limit = 1.6 * side / std::min(vw, vh);
  if (limit < 1.0) vw *= limit, vh *= limit;
  const double x0 = std::clamp(centre.x - vw / 2, 0.0, photo_.cols - vw);
  const double y0 = std::clamp(centre.y - vh / 2, 0.0, photo_.rows - vh);
  const double s = size.width / vw;
  const cv::Matx23f photo_to_out(float(s), 0.f, float(-x0 * s), 0.f, float(s), float(-y0 * s));
  View v;
  v.size = size;
  if (s < 0.5) {  // warpAffine does not area-average: resize the window instead
    const cv::Rect window(int(std::lround(x0)), int(std::lround(y0)), std::max(1, int(std::lround(vw))), std::max(1, int(std::lround(vh))));
    cv::resize(photo_(window & cv::Rect(0, 0, photo_.cols, photo_.rows)), v.background, size, 0, 0, cv::INTER_AREA);
  } else {
    cv::warpAffine(photo_, v.background, photo_to_out, size, cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  }
  v.crop_to_out = compose_affine(photo_to_out, crop_to_photo);
  std::vector<cv::Point2f> corners;
  for (const cv::Point2f c : {cv::Point2f(0, 0), cv::Point2f(float(cs), 0), cv::Point2f(0, float(cs)), cv::Point2f(float(cs), float(cs))})
    corners.push_back(face::transform(v.crop_to_out, c));
  v.roi = cv::boundingRect(corners) & cv::Rect(0, 0, size.width, size.height);
  // Feathered square: 1 inside, a smooth fall to 0 over the crop's outer 8%
  // (the warp leaves the border where it was, so the seam is in still pixels).
  cv::Mat feather(cs, cs, CV_32F);
  const float ramp = 0.08f * cs;
  for (int y = 0; y < cs; ++y)
    for (int x = 0; x < cs; ++x) {
      const float d = std::min({float(x) + 0.5f, float(y) + 0.5f, cs - 0.5f - x, cs - 0.5f - y});
      const float t = std::clamp(d / ramp, 0.f, 1.f);
      feather.at<float>(y, x) = t * t * (3.f - 2.f * t);
    }
  v.crop_to_roi = v.crop_to_out;
  v.crop_to_roi(0, 2) -= float(v.roi.x);
  v.crop_to_roi(1, 2) -= float(v.roi.y);
  if (!v.roi.empty()) cv::warpAffine(feather, v.mask, v.crop_to_roi, v.roi.size(), cv::INTER_LINEAR, cv::BORDER_CONSTANT, 0);
  view_ = std::move(v);
  return view_;
}

cv::Point2f Avatar::to_output(cv::Point2f crop_point, cv::Size size) { return face::transform(view(size).crop_to_out, crop_point); }

void Avatar::compose(const cv::Mat& animated, const ImageView& out) {
  if (out.channels != 3) throw InputError("the reenactment output must be RGB (3 channels)");
  const View& v = view(cv::Size(out.width, out.height));
  cv::Mat dst(out.height, out.width, CV_8UC3, out.data, size_t(out.stride));
  v.background.copyTo(dst);
  if (v.roi.empty()) return;
  cv::Mat anim;
  cv::warpAffine(animated, anim, v.crop_to_roi, v.roi.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  for (int y = 0; y < v.roi.height; ++y) {
    const auto* a = anim.ptr<cv::Vec3b>(y);
    const auto* m = v.mask.ptr<float>(y);
    auto* d = dst.ptr<cv::Vec3b>(y + v.roi.y) + v.roi.x;
    for (int x = 0; x < v.roi.width; ++x)
      for (int c = 0; c < 3; ++c) d[x][c] = cv::saturate_cast<uint8_t>(d[x][c] + m[x] * (float(a[x][c]) - float(d[x][c])));
  }
}

}  // namespace fiancee
