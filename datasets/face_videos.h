// Training data from real video: a VoxCeleb-style folder with one sub-folder
// per identity, holding that person's videos (any format OpenCV's FFmpeg
// backend reads) or folders of frames. Faces are found by the run-time front
// end (dlib) and aligned to its canonical crop (face::crop_transform) exactly
// as at run time; frames without a face are skipped.
#pragma once

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
// crop_landmarks, when given, receives the face's landmarks in crop pixels.
cv::Mat aligned_crop(const cv::Mat& rgb, const face::FaceResult& face, int size, face::Landmarks* crop_landmarks = nullptr);

// A VoxCeleb-style folder of procedural head videos: dir/id<k>/clip<j>.avi
// (Motion-JPEG, size x size, 25 fps), pose and expression moving smoothly
// between random keyframes every 12 frames. Shows the layout, feeds the
// tests, and stands in where no real face videos are at hand.
// max_yaw: keyframe head turns within +-max_yaw degrees (drivers for large-turn evaluations).
void write_procedural_videos(const std::string& dir, int identities, int videos, int frames, int size, uint64_t seed,
                             float max_yaw = 30.f);

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

  // Self-reenactment: source and driver are two faces of one identity, each
  // in its own aligned crop rather than the source's: the crops are canonical
  // (a similarity fit to fixed eye, nose and mouth places), so the driver's
  // roll, scale and translation relative to the source are normalised away in
  // this data, leaving yaw, pitch and expression to reenact.
  std::vector<Pair> pairs(int batch, uint64_t index) override;
  // The first identity's first face.
  cv::Mat sample_avatar() override;

  int identities() const { return static_cast<int>(identities_.size()); }
  int64_t faces() const;

 private:
  struct Face {
    cv::Mat crop;                 // R x R RGB8
    face::Landmarks landmarks{};  // in crop pixels
  };
  std::vector<std::vector<Face>> identities_;  // faces in reading order
  uint64_t seed_;
};

}  // namespace fiancee::reenact
