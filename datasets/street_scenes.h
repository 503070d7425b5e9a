// Street scenes for label-map-to-image synthesis (OASIS, ASAP-Net): pairs of
// a class label map and an RGB image. StreetScenes draws them procedurally (a
// stand-in for Cityscapes, which is not reachable here); CityscapesFolder
// reads the real data set from disk into the same 12 classes.
//
// The generator places a 3D street in front of a pinhole camera (a car on
// the road): road with lane markings and crosswalks, kerbs and sidewalks,
// lots beside the sidewalk (buildings with window grids, parks with trees,
// open fields with a tree line), fences and hedges, poles with traffic signs,
// street lamps and traffic lights, pedestrians, parked and moving cars,
// street clutter, the sky with clouds and, in most scenes, the ego car's
// hood. Objects are drawn far to near into an instance map; every pixel is
// then shaded from its instance (colour, world-anchored texture, window and
// fence patterns, lighting, haze, time-of-day tint, sensor grain), so the
// image is a rendering of the label map, not a per-class lookup.
//
// Deterministic: same (seed, index) or (seed, clip, t) -> identical tensors
// on every platform (own PRNG, no std distributions, no threads).
#pragma once

#include <torch/types.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace fiancee::synth {

constexpr int kNumClasses = 12;
// 0 void, 1 road, 2 sidewalk, 3 building, 4 fence, 5 pole, 6 traffic-sign, 7 vegetation, 8 terrain, 9 sky, 10 person, 11 car
enum Class : int {
  kVoid = 0, kRoad, kSidewalk, kBuilding, kFence, kPole, kTrafficSign, kVegetation, kTerrain, kSky, kPerson, kCar
};
const std::vector<std::string>& class_names();
// Fixed RGB colour per class (for visualising label maps), 0..255 (Cityscapes' palette).
std::array<uint8_t, 3> class_colour(int cls);
// labels [H,W] integer class ids -> CV_8UC3 RGB image of class colours (ids outside 0..11 black).
cv::Mat colour_labels(const torch::Tensor& labels);

struct Scene {
  torch::Tensor labels;  // [H,W] int64 class ids in [0,kNumClasses)
  torch::Tensor image;   // [3,H,W] float in [-1,1]
};

class SceneSource {  // anything that yields scenes by index
 public:
  virtual ~SceneSource() = default;
  virtual Scene scene(uint64_t index) const = 0;
  virtual int64_t size() const = 0;  // 0 = unbounded (procedural)
  virtual int height() const = 0;
  virtual int width() const = 0;
};

// Batch of scenes [first, first+n): labels [n,H,W] int64, images [n,3,H,W].
struct SceneBatch {
  torch::Tensor labels, images;
};
// For finite sources the index wraps modulo size(). InputError when n < 1.
SceneBatch scene_batch(const SceneSource& source, uint64_t first, int n);

class StreetScenes : public SceneSource {
 public:
  // Designed for 1:2 (height:width) frames of at least 32x64; InputError below 16x16.
  StreetScenes(int height, int width, uint64_t seed);
  // An independent random street, deterministic by (seed, index).
  Scene scene(uint64_t index) const override;
  // Frame t of a clip: the same street as the camera drives forward and
  // cars/people move, so consecutive frames are temporally coherent (label-map
  // videos). Deterministic by (seed, clip, t); clips and scenes do not share streets.
  Scene clip_frame(uint64_t clip, int t) const;
  int64_t size() const override { return 0; }
  int height() const override { return height_; }
  int width() const override { return width_; }

 private:
  int height_, width_;
  uint64_t seed_;
};

// Cityscapes layout: <root>/gtFine/<split>/<city>/<name>_gtFine_labelIds.png and
// <root>/leftImg8bit/<split>/<city>/<name>_leftImg8bit.png; label ids mapped to
// our 12 classes (cityscapes_class()), labels resized nearest, images
// area-resized to height x width. Scenes are sorted by label path; index
// wraps modulo size(). The constructor lists the files and throws InputError
// naming the path when the split folder is missing or empty or a label file
// has no image; scene() throws InputError naming a file it cannot read.
class CityscapesFolder : public SceneSource {
 public:
  CityscapesFolder(const std::string& root, const std::string& split, int height, int width);
  Scene scene(uint64_t index) const override;
  int64_t size() const override { return static_cast<int64_t>(labels_.size()); }
  int height() const override { return height_; }
  int width() const override { return width_; }
  // The label and image file of scene `index` (wrapped).
  const std::string& label_path(uint64_t index) const { return labels_[index % labels_.size()]; }
  const std::string& image_path(uint64_t index) const { return images_[index % images_.size()]; }

 private:
  int height_, width_;
  std::vector<std::string> labels_, images_;
};

// Cityscapes gtFine labelId (0..33, -1) -> our class:
//   void (0):          0 unlabeled, 1 ego vehicle, 2 rectification border, 3 out of roi,
//                      4 static, 5 dynamic, 6 ground, 10 rail track
//   road (1):          7 road, 9 parking
//   sidewalk (2):      8 sidewalk
//   building (3):      11 building, 12 wall, 15 bridge, 16 tunnel
//   fence (4):         13 fence, 14 guard rail
//   pole (5):          17 pole, 18 polegroup
//   traffic-sign (6):  19 traffic light, 20 traffic sign
//   vegetation (7):    21 vegetation
//   terrain (8):       22 terrain
//   sky (9):           23 sky
//   person (10):       24 person, 25 rider
//   car (11):          26 car, 27 truck, 28 bus, 29 caravan, 30 trailer, 31 train,
//                      32 motorcycle, 33 bicycle, -1 license plate (the vehicle category)
// Anything else -> void. In 8-bit label PNGs -1 is stored as 255 and read as such.
int cityscapes_class(int label_id);

}  // namespace fiancee::synth
