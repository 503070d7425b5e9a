#include "datasets/face_videos.h"

#include <torch/torch.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>

#include "core/errors.h"
#include "core/guide_db.h"
#include "pipelines/face_frontend.h"
#include "datasets/head_generator.h"

namespace fiancee::reenact {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> sorted_entries(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

torch::Tensor to_float(const torch::Tensor& image) { return image.to(torch::kFloat) / 127.5 - 1.0; }

// Frames in a video (as its container says; 0 when unknown) or files in a frame folder.
int frame_count(const std::string& source) {
  if (fs::is_directory(source)) return static_cast<int>(sorted_entries(source).size());
  cv::VideoCapture video(source, cv::CAP_FFMPEG);
  return video.isOpened() ? std::max(0, static_cast<int>(video.get(cv::CAP_PROP_FRAME_COUNT))) : 0;
}

constexpr int kKeyframeEvery = 12;

headgen::HeadPose lerp(const headgen::HeadPose& a, const headgen::HeadPose& b, float t) {
  auto m = [t](float x, float y) { return x + (y - x) * t; };
  return {m(a.yaw, b.yaw), m(a.pitch, b.pitch), m(a.roll, b.roll), m(a.distance, b.distance), m(a.shift_x, b.shift_x), m(a.shift_y, b.shift_y)};
}

headgen::HeadExpression lerp(const headgen::HeadExpression& a, const headgen::HeadExpression& b, float t) {
  auto m = [t](float x, float y) { return x + (y - x) * t; };
  return {m(a.jaw_open, b.jaw_open), m(a.smile, b.smile), m(a.blink, b.blink), m(a.brows, b.brows), m(a.gaze_x, b.gaze_x), m(a.gaze_y, b.gaze_y)};
}

}  // namespace

void for_each_frame(const std::string& source, const std::function<bool(const cv::Mat&)>& f) {
  cv::Mat bgr, rgb;
  if (fs::is_directory(source)) {
    for (const auto& file : sorted_entries(source)) {
      bgr = cv::imread(file, cv::IMREAD_COLOR);
      if (bgr.empty()) continue;  // not an image: folders may hold other files
      cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
      if (!f(rgb)) return;
    }
    return;
  }
  cv::VideoCapture video(source, cv::CAP_FFMPEG);  // FFmpeg alone: other backends log noise on non-videos
  if (!video.isOpened()) throw InputError(source + ": neither a folder of images nor a readable video");
  while (video.read(bgr)) {
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    if (!f(rgb)) return;
  }
}

cv::Mat aligned_crop(const cv::Mat& rgb, const face::FaceResult& face, int size) {
  // Warp at the front end's crop size (or larger), then shrink by area averaging: warpAffine has no area filter.
  const int warp = std::max(size, face.crop_size);
  const cv::Matx23f m = face.crop * (static_cast<float>(warp) / static_cast<float>(std::max(face.crop_size, 1)));
  cv::Mat crop;
  cv::warpAffine(rgb, crop, m, cv::Size(warp, warp), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  if (warp != size) cv::resize(crop, crop, cv::Size(size, size), 0, 0, cv::INTER_AREA);
  return crop;
}

VideoFaces::VideoFaces(const std::string& dir, const VideoFacesOptions& o) : seed_(o.seed) {
  if (!fs::is_directory(dir))
    throw InputError(dir + ": not a folder; training data is one sub-folder per identity holding its videos (docs/training.md)");
  if (o.resolution < 16 || o.frames_per_video < 2) throw InputError("video data needs a resolution of 16 or more and 2 or more frames per video");
  face::FaceFrontEnd front_end;
  for (const auto& identity : sorted_entries(dir)) {
    if (!fs::is_directory(identity)) continue;
    if (o.max_identities > 0 && identities() >= o.max_identities) break;
    std::vector<torch::Tensor> images, keys;
    Identity id;
    int video = 0;
    for (const auto& clip : sorted_entries(identity)) {
      // Evenly spaced frames, streamed: a long video is never held in memory.
      const int step = std::max(1, frame_count(clip) / o.frames_per_video);
      int i = 0, taken = 0;
      try {
        for_each_frame(clip, [&](const cv::Mat& rgb) {
          if (i++ % step != 0) return true;
          ++taken;
          const auto r = front_end.detect(rgb.data, rgb.cols, rgb.rows, static_cast<int>(rgb.step));
          if (!r.has_face()) return taken < o.frames_per_video;
          const cv::Mat crop = aligned_crop(rgb, r, o.resolution);
          images.push_back(torch::from_blob(crop.data, {o.resolution, o.resolution, 3}, torch::kUInt8).permute({2, 0, 1}).clone());
          keys.push_back(torch::tensor(r.key(), torch::kFloat));
          id.video.push_back(video);
          id.frame.push_back(i - 1);
          return taken < o.frames_per_video;
        });
      } catch (const InputError&) {
        continue;  // not a video (a text file, a folder without images...)
      }
      ++video;
      std::fprintf(stderr, "\rdata: %d identities read, %s: %zu faces in %d videos   ", identities(),
                   fs::path(identity).filename().c_str(), images.size(), video);
    }
    if (images.size() < 2) {
      std::fprintf(stderr, "\ndata: %s skipped: fewer than 2 frames with a face\n", identity.c_str());
      continue;
    }
    id.images = torch::stack(images);
    id.keys = torch::stack(keys);
    identities_.push_back(std::move(id));
  }
  std::fprintf(stderr, "\ndata: %s: %d identities, %lld faces\n", dir.c_str(), identities(), static_cast<long long>(this->faces()));
  if (identities_.empty())
    throw InputError(dir + ": no identity folder with 2 or more frames showing a face (expected DIR/<identity>/<videos or frame folders>)");
}

int64_t VideoFaces::faces() const {
  int64_t n = 0;
  for (const auto& id : identities_) n += id.keys.size(0);
  return n;
}

Batch VideoFaces::sample(int batch, uint64_t index) {
  std::vector<torch::Tensor> src, drv, keys, guides;
  for (int b = 0; b < batch; ++b) {
    const uint64_t s = mix_seed(mix_seed(seed_, index), b);
    const auto& id = identities_[s % identities_.size()];
    const int64_t n = id.keys.size(0);
    const int64_t d = static_cast<int64_t>((s >> 16) % static_cast<uint64_t>(n));
    int64_t k = static_cast<int64_t>((s >> 40) % static_cast<uint64_t>(n - 1));
    if (k >= d) ++k;  // any other face of the identity
    // Guide: nearest key, excluding the driver's own moment (it would hand the branch its target).
    auto dist = (id.keys - id.keys[d]).pow(2).sum(1);
    for (int64_t j = 0; j < n; ++j)
      if (id.video[j] == id.video[d] && std::abs(id.frame[j] - id.frame[d]) <= kGuideGap) dist[j] = std::numeric_limits<float>::infinity();
    const auto nearest = dist.argmin().item<int64_t>();
    const int64_t guide = std::isinf(dist[nearest].item<float>()) ? k : nearest;
    src.push_back(to_float(id.images[k]));
    drv.push_back(to_float(id.images[d]));
    keys.push_back(id.keys[d]);
    guides.push_back(to_float(id.images[guide]));
  }
  return {torch::stack(src), torch::stack(drv), torch::stack(keys), torch::stack(guides)};
}

torch::Tensor VideoFaces::source(int identity) { return to_float(identities_.at(static_cast<size_t>(identity)).images[0]); }

GuideFrames VideoFaces::avatar_frames(int n) {
  const auto& id = identities_.front();
  auto idx = torch::tensor(farthest_point_sample(id.keys, n), torch::kLong);
  return {id.keys.index_select(0, idx), to_float(id.images.index_select(0, idx))};
}

void write_procedural_videos(const std::string& dir, int identities, int videos, int frames, int size, uint64_t seed) {
  for (int id = 0; id < identities; ++id) {
    const auto head = headgen::sample_identity(mix_seed(seed, static_cast<uint64_t>(id)));
    const std::string folder = dir + "/id" + std::to_string(id);
    std::filesystem::create_directories(folder);
    for (int v = 0; v < videos; ++v) {
      const std::string path = folder + "/clip" + std::to_string(v) + ".avi";
      cv::VideoWriter writer(path, cv::CAP_FFMPEG, cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 25.0, cv::Size(size, size));
      if (!writer.isOpened()) throw InputError(path + ": cannot write a Motion-JPEG video (OpenCV without FFmpeg?)");
      auto keyframe = [&](int k) { return mix_seed(mix_seed(seed + 31, id * 1000 + v), k); };
      cv::Mat bgr;
      for (int t = 0; t < frames; ++t) {
        const int k = t / kKeyframeEvery;
        const float a = static_cast<float>(t % kKeyframeEvery) / kKeyframeEvery;
        const auto pose = lerp(headgen::sample_pose(keyframe(k)), headgen::sample_pose(keyframe(k + 1)), a);
        const auto expression = lerp(headgen::sample_expression(keyframe(k) + 1), headgen::sample_expression(keyframe(k + 1) + 1), a);
        cv::cvtColor(headgen::render(head, pose, expression, size), bgr, cv::COLOR_RGB2BGR);
        writer.write(bgr);
      }
      std::fprintf(stderr, "\rheads: identity %d/%d, video %d/%d", id + 1, identities, v + 1, videos);
    }
  }
}

}  // namespace fiancee::reenact
