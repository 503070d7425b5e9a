// Training data from real video: a VoxCeleb-style folder with one sub-folder
// per identity, holding that person's videos (any format OpenCV's FFmpeg
// backend reads) or folders of frames. Faces are found by the run-time front
// end (dlib), aligned to its canonical crop (face::crop_transform) and keyed
// by their landmarks exactly as at run time; frames without a face are skipped.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "pipelines/face_frontend.h"
#include "datasets/reenact_data.h"

namespace fiancee::reenact {

// Calls f(rgb frame) for every frame of a video, or for every image of a
// folder sorted by name (files that are not images are skipped), until f
// returns false: nothing after that is decoded. Throws InputError naming
// `source` when it is neither.
void for_each_frame(const std::string& source, const std::function<bool(const cv::Mat&)>& f);

// The face's canonical crop (face::crop_transform) of an RGB frame, size x size RGB.
cv::Mat aligned_crop(const cv::Mat& rgb, const face::FaceResult& face, int size);

// A VoxCeleb-style folder of procedural head videos: dir/id<k>/clip<j>.avi
// (Motion-JPEG, size x size, 25 fps), pose and expression moving smoothly
// between random keyframes every 12 frames. Shows the layout, feeds the
// tests, and stands in where no real face videos are at hand.
void write_procedural_videos(const std::string& dir, int identities, int videos, int frames, int size, uint64_t seed);

struct VideoFacesOptions {
  int resolution = 128;        // square crop size
  int frames_per_video = 48;   // evenly spaced over each video; each runs the face detector
  int max_identities = 0;      // 0: all, else the first ones by folder name
  uint64_t seed = 1;           // sampling (the data itself is read in name order)
};

class VideoFaces : public ReenactSource {
 public:
  // Reads every video up front, printing progress to stderr. Throws InputError
  // naming the folder when it holds no identity with two faces or more.
  VideoFaces(const std::string& dir, const VideoFacesOptions& options);

  // Self-reenactment: source and driver are two faces of one identity; the
  // guide is that identity's face nearest to the driver's key that is not the
  // driver's own moment (another video, or more than kGuideGap frames away).
  Batch sample(int batch, uint64_t index) override;
  // The identity's first face.
  torch::Tensor source(int identity) override;
  // n of identity 0's faces, farthest-point sampled on their keys.
  GuideFrames avatar_frames(int n) override;

  int identities() const { return static_cast<int>(identities_.size()); }
  int64_t faces() const;
  static constexpr int kGuideGap = 10;

 private:
  struct Identity {
    torch::Tensor images;          // [n,3,R,R] uint8, in reading order
    torch::Tensor keys;            // [n,kKeyDim]
    std::vector<int> video, frame; // where each face was found
  };
  std::vector<Identity> identities_;
  uint64_t seed_;
};

}  // namespace fiancee::reenact
