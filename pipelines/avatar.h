// The avatar of the one-shot reenactment: any photo given at run time, set up
// once at start. Its largest face is found (dlib, as for the driver), an
// aligned square crop with room for hair and shoulders is cut at the
// package's resolution, and the warp mesh is built on its landmarks. Each
// frame, the animated crop is pasted back into the photo through a feathered
// mask and the photo is framed into the output: aspect kept, no bars, the
// face centred as far as the photo allows (docs/reenactment.md).
#pragma once

#include <string>

#include <opencv2/core.hpp>

#include "pipelines/face_frontend.h"
#include "pipelines/frame_pipeline.h"
#include "pipelines/warp.h"

namespace fiancee {

// Photos are refused above this many pixels (JPEG: decoded at 1/2, 1/4 or
// 1/8 scale to fit) before any full decode; 64 Mpx is 8192x8192.
inline constexpr int64_t kMaxPhotoPixels = int64_t{1} << 26;

// Reads an image file as 8-bit RGB whatever it holds: grey becomes RGB, an
// alpha channel is flattened onto mid-grey, 16-bit is scaled to 8-bit.
// InputError naming the file (`what` = the setting it came from) when it is
// unreadable, not a regular file, over kMaxPhotoBytes or kMaxPhotoPixels.
cv::Mat read_rgb8(const std::string& path, const std::string& what);

class Avatar {
 public:
  // Photos larger than this (longer side, pixels) are scaled down at set-up.
  static constexpr int kMaxPhotoSide = 4096;

  // Throws InputError naming `path` when it is unreadable or shows no face.
  Avatar(const std::string& path, int crop_size, const std::string& landmark_model);
  // The same from an RGB8 image already in memory (`name` names it in errors).
  Avatar(const cv::Mat& photo_rgb, const std::string& name, int crop_size, const std::string& landmark_model);

  const cv::Mat& crop() const { return crop_; }  // RGB8, crop_size square
  const face::Landmarks& landmarks() const { return landmarks_; }  // crop pixels
  const warp::Mesh& mesh() const { return mesh_; }
  int crop_size() const { return crop_.cols; }

  // The animated crop (RGB8, crop_size square) pasted into the photo and
  // framed into `out` (RGB, any size; the framing is cached per size).
  void compose(const cv::Mat& animated, const ImageView& out);
  // Where a crop pixel lands in an output of that size.
  cv::Point2f to_output(cv::Point2f crop_point, cv::Size size);

 private:
  void set_up(const std::string& name, const std::string& landmark_model);
  struct View {
    cv::Size size;
    cv::Mat background;   // the photo framed into the output
    cv::Matx23f crop_to_out;
    cv::Rect roi;         // where the crop lands in the output
    cv::Matx23f crop_to_roi;  // crop_to_out shifted to the roi's origin
    cv::Mat mask;         // CV_32F over roi: 1 = animated crop, 0 = photo
  };
  const View& view(cv::Size size);

  cv::Mat photo_;             // RGB8
  cv::Matx23f photo_to_crop_;
  cv::Mat crop_;
  face::Landmarks landmarks_{};
  warp::Mesh mesh_;
  View view_;
};

}  // namespace fiancee
