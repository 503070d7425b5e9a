#include "pipelines/image_io.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>

#include "core/errors.h"

namespace fiancee {

namespace {

cv::Mat wrap(const ImageView& f) {
  return cv::Mat(f.height, f.width, CV_8UC(f.channels), f.data, static_cast<size_t>(f.stride));
}

torch::Tensor mat_to_tensor(const cv::Mat& rgb, const ImageSpec& spec) {
  cv::Mat resized;
  if (rgb.cols == spec.width && rgb.rows == spec.height)
    resized = rgb.isContinuous() ? rgb : rgb.clone();
  else
    cv::resize(rgb, resized, cv::Size(spec.width, spec.height), 0, 0,
               rgb.cols > spec.width ? cv::INTER_AREA : cv::INTER_LINEAR);
  auto t = torch::from_blob(resized.data, {resized.rows, resized.cols, resized.channels()}, torch::kUInt8)
               .permute({2, 0, 1}).to(torch::kFloat).unsqueeze(0);
  return t * ((spec.range_max - spec.range_min) / 255.0) + spec.range_min;
}

cv::Mat tensor_to_mat(const torch::Tensor& image, const ImageSpec& spec) {
  auto t = ((image.detach().to(torch::kCPU, torch::kFloat) - spec.range_min) * (255.0 / (spec.range_max - spec.range_min)))
               .round().clamp(0, 255).to(torch::kUInt8).permute({1, 2, 0}).contiguous();
  return cv::Mat(static_cast<int>(t.size(0)), static_cast<int>(t.size(1)), CV_8UC(static_cast<int>(t.size(2))), t.data_ptr()).clone();
}

}  // namespace

torch::Tensor frame_to_tensor(const ImageView& frame, const ImageSpec& spec) {
  if (frame.channels != spec.channels)
    throw InputError("frame has " + std::to_string(frame.channels) + " channels, the model takes " + std::to_string(spec.channels));
  return mat_to_tensor(wrap(frame), spec);
}

void tensor_to_frame(const torch::Tensor& image, const ImageSpec& spec, const ImageView& frame, bool keep_aspect) {
  cv::Mat m = tensor_to_mat(image, spec);
  cv::Mat dst = wrap(frame);
  if (m.cols == frame.width && m.rows == frame.height) {
    m.copyTo(dst);
  } else if (!keep_aspect) {
    cv::resize(m, dst, dst.size(), 0, 0, cv::INTER_LINEAR);
  } else {
    const double scale = std::min(static_cast<double>(frame.width) / m.cols, static_cast<double>(frame.height) / m.rows);
    const int w = std::max(1, static_cast<int>(m.cols * scale)), h = std::max(1, static_cast<int>(m.rows * scale));
    dst.setTo(cv::Scalar::all(0));
    cv::resize(m, dst(cv::Rect((frame.width - w) / 2, (frame.height - h) / 2, w, h)), cv::Size(w, h), 0, 0, cv::INTER_LINEAR);
  }
}

void copy_frame(const ImageView& in, const ImageView& out) {
  cv::Mat dst = wrap(out);
  if (in.width == out.width && in.height == out.height)
    wrap(in).copyTo(dst);
  else
    cv::resize(wrap(in), dst, dst.size(), 0, 0, cv::INTER_LINEAR);
}

void write_image(const std::string& path, const torch::Tensor& image, const ImageSpec& spec) {
  cv::Mat bgr;
  cv::cvtColor(tensor_to_mat(image, spec), bgr, cv::COLOR_RGB2BGR);
  if (!cv::imwrite(path, bgr)) throw Error(path + ": cannot write image");
}

}  // namespace fiancee
