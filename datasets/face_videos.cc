#include "datasets/face_videos.h"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "core/errors.h"
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

cv::Mat aligned_crop(const cv::Mat& rgb, const face::FaceResult& face, int size, face::Landmarks* crop_landmarks) {
  // face.crop maps the frame to a crop of face.crop_size; scaled, to any other size.
  auto crop_matrix = [&](int s) { return face.crop * (static_cast<float>(s) / static_cast<float>(std::max(face.crop_size, 1))); };
  // Warp at the front end's crop size (or larger), then shrink by area averaging: warpAffine has no area filter.
  const int warp = std::max(size, face.crop_size);
  cv::Mat crop;
  cv::warpAffine(rgb, crop, crop_matrix(warp), cv::Size(warp, warp), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  if (warp != size) cv::resize(crop, crop, cv::Size(size, size), 0, 0, cv::INTER_AREA);
  if (crop_landmarks) {
    const cv::Matx23f t = crop_matrix(size);
    for (int i = 0; i < face::kNumLandmarks; ++i) {
      const cv::Point2f p = face.landmarks[i];
      (*crop_landmarks)[i] = {t(0, 0) * p.x + t(0, 1) * p.y + t(0, 2), t(1, 0) * p.x + t(1, 1) * p.y + t(1, 2)};
    }
  }
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
    std::vector<Face> found;
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
          Face f;
          f.crop = aligned_crop(rgb, r, o.resolution, &f.landmarks);
          found.push_back(std::move(f));
          return taken < o.frames_per_video;
        });
      } catch (const InputError&) {
        continue;  // not a video (a text file, a folder without images...)
      }
      ++video;
      std::fprintf(stderr, "\rdata: %d identities read, %s: %zu faces in %d videos   ", identities(),
                   fs::path(identity).filename().c_str(), found.size(), video);
    }
    if (found.size() < 2) {
      std::fprintf(stderr, "\ndata: %s skipped: fewer than 2 frames with a face\n", identity.c_str());
      continue;
    }
    identities_.push_back(std::move(found));
  }
  std::fprintf(stderr, "\ndata: %s: %d identities, %lld faces\n", dir.c_str(), identities(), static_cast<long long>(this->faces()));
  if (identities_.empty())
    throw InputError(dir + ": no identity folder with 2 or more frames showing a face (expected DIR/<identity>/<videos or frame folders>)");
}

int64_t VideoFaces::faces() const {
  int64_t n = 0;
  for (const auto& id : identities_) n += static_cast<int64_t>(id.size());
  return n;
}

std::vector<Pair> VideoFaces::pairs(int batch, uint64_t index) {
  std::vector<Pair> out;
  for (int b = 0; b < batch; ++b) {
    const uint64_t s = mix_seed(mix_seed(seed_, index), uint64_t(b));
    const auto& id = identities_[s % identities_.size()];
    const uint64_t n = id.size();
    const uint64_t d = (s >> 16) % n;
    uint64_t k = (s >> 40) % (n - 1);
    if (k >= d) ++k;  // any other face of the identity
    // Copies: callers may write into their pairs, the stored crops must stay as read.
    out.push_back({id[k].crop.clone(), id[k].landmarks, id[d].crop.clone(), id[d].landmarks});
  }
  return out;
}

cv::Mat VideoFaces::sample_avatar() { return identities_.front().front().crop.clone(); }

void write_procedural_videos(const std::string& dir, int identities, int videos, int frames, int size, uint64_t seed, float max_yaw) {
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
        const auto pose = lerp(headgen::sample_pose(keyframe(k), max_yaw), headgen::sample_pose(keyframe(k + 1), max_yaw), a);
        const auto expression = lerp(headgen::sample_expression(keyframe(k) + 1), headgen::sample_expression(keyframe(k + 1) + 1), a);
        cv::cvtColor(headgen::render(head, pose, expression, size), bgr, cv::COLOR_RGB2BGR);
        writer.write(bgr);
      }
      std::fprintf(stderr, "\rheads: identity %d/%d, video %d/%d", id + 1, identities, v + 1, videos);
    }
  }
}

}  // namespace fiancee::reenact
