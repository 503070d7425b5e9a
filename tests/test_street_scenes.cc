// Procedural street scenes and the Cityscapes folder reader: determinism,
// class coverage, ranges, temporal coherence of clips, the label mapping, and
// reading (and refusing) a small Cityscapes tree written by the test.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <opencv2/imgcodecs.hpp>

#include "core/errors.h"
#include "datasets/street_scenes.h"
#include "tests/fixtures.h"

namespace fiancee {
namespace {

using synth::kNumClasses;

double agreement(const torch::Tensor& a, const torch::Tensor& b) { return (a == b).to(torch::kDouble).mean().item<double>(); }

TEST(StreetScenes, DeterministicPerSeedAndIndex) {
  const synth::StreetScenes a(64, 128, 7), b(64, 128, 7), other_seed(64, 128, 8);
  const auto s = a.scene(3), t = b.scene(3);
  EXPECT_TRUE(torch::equal(s.labels, t.labels));
  EXPECT_TRUE(torch::equal(s.image, t.image));
  const auto u = a.scene(4), v = other_seed.scene(3);
  EXPECT_LT(agreement(s.labels, u.labels), 0.95);
  EXPECT_GT((s.image - u.image).abs().mean().item<double>(), 0.05);
  EXPECT_GT((s.image - v.image).abs().mean().item<double>(), 0.05);
  // Clip frames too, and a clip is not the scene of the same index.
  EXPECT_TRUE(torch::equal(a.clip_frame(2, 5).image, b.clip_frame(2, 5).image));
  EXPECT_FALSE(torch::equal(a.clip_frame(3, 0).labels, a.scene(3).labels));
}

TEST(StreetScenes, ShapesAndRanges) {
  for (auto [h, w] : {std::pair{32, 64}, std::pair{128, 256}, std::pair{64, 64}}) {
    const synth::StreetScenes scenes(h, w, 1);
    EXPECT_EQ(scenes.size(), 0);
    EXPECT_EQ(scenes.height(), h);
    EXPECT_EQ(scenes.width(), w);
    for (uint64_t i = 0; i < 4; ++i) {
      const auto s = scenes.scene(i);
      ASSERT_EQ(s.labels.sizes(), (std::vector<int64_t>{h, w}));
      ASSERT_EQ(s.labels.scalar_type(), torch::kLong);
      ASSERT_EQ(s.image.sizes(), (std::vector<int64_t>{3, h, w}));
      ASSERT_EQ(s.image.scalar_type(), torch::kFloat);
      EXPECT_GE(s.labels.min().item<int64_t>(), 0);
      EXPECT_LT(s.labels.max().item<int64_t>(), kNumClasses);
      EXPECT_GE(s.image.min().item<float>(), -1.f);
      EXPECT_LE(s.image.max().item<float>(), 1.f);
      EXPECT_TRUE(torch::isfinite(s.image).all().item<bool>());
      EXPECT_GT(s.image.std().item<float>(), 0.1f) << "flat image " << h << "x" << w << " scene " << i;
    }
  }
  const auto batch = synth::scene_batch(synth::StreetScenes(32, 64, 1), 10, 3);
  EXPECT_EQ(batch.labels.sizes(), (std::vector<int64_t>{3, 32, 64}));
  EXPECT_EQ(batch.images.sizes(), (std::vector<int64_t>{3, 3, 32, 64}));
  EXPECT_TRUE(torch::equal(batch.labels[1], synth::StreetScenes(32, 64, 1).scene(11).labels));
  EXPECT_THROW(synth::scene_batch(synth::StreetScenes(32, 64, 1), 0, 0), InputError);
  EXPECT_THROW(synth::StreetScenes(8, 64, 1), InputError);
}

TEST(StreetScenes, AllClassesOccurAndScenesVary) {
  const synth::StreetScenes scenes(128, 256, 1);
  std::vector<int64_t> pixels(kNumClasses, 0);
  std::vector<int> scenes_with(kNumClasses, 0);
  double min_classes = kNumClasses, max_classes = 0, min_sky_road = 1, max_sky_road = 0;
  for (uint64_t i = 0; i < 16; ++i) {
    const auto counts = torch::bincount(scenes.scene(i).labels.flatten(), {}, kNumClasses);
    int present = 0;
    for (int c = 0; c < kNumClasses; ++c) {
      const int64_t n = counts[c].item<int64_t>();
      pixels[size_t(c)] += n;
      scenes_with[size_t(c)] += n > 0;
      present += n > 0;
    }
    const double sky_road = double((counts[synth::kSky] + counts[synth::kRoad]).item<int64_t>()) / (128 * 256);
    min_classes = std::min<double>(min_classes, present), max_classes = std::max<double>(max_classes, present);
    min_sky_road = std::min(min_sky_road, sky_road), max_sky_road = std::max(max_sky_road, sky_road);
  }
  std::printf("[ report ] 16 scenes 128x256, share of pixels:");
  for (int c = 0; c < kNumClasses; ++c)
    std::printf(" %s %.3f", synth::class_names()[size_t(c)].c_str(), pixels[size_t(c)] / (16.0 * 128 * 256));
  std::printf("\n[ report ] classes per scene %g..%g; sky+road share %.2f..%.2f\n", min_classes, max_classes, min_sky_road,
              max_sky_road);
  for (int c = 0; c < kNumClasses; ++c)
    EXPECT_GE(scenes_with[size_t(c)], 2) << synth::class_names()[size_t(c)] << " in fewer than 2 of 16 scenes";
  // Some scenes are busy, some mostly road and sky.
  EXPECT_GE(max_classes - min_classes, 3);
  EXPECT_GT(max_sky_road - min_sky_road, 0.25);
}

TEST(StreetScenes, ImageFollowsTheLabelMap) {
  // Each class has its own look on average, yet pixels of one class vary
  // (texture, instances, shading): not a per-class lookup table.
  const synth::StreetScenes scenes(128, 256, 2);
  const auto batch = synth::scene_batch(scenes, 0, 8);
  const auto labels = batch.labels.flatten(), rgb = batch.images.permute({1, 0, 2, 3}).reshape({3, -1});
  std::vector<torch::Tensor> means;
  for (int c : {synth::kRoad, synth::kSky, synth::kVegetation, synth::kBuilding}) {
    const auto mask = labels == c;
    ASSERT_GT(mask.sum().item<int64_t>(), 100) << synth::class_names()[size_t(c)];
    const auto px = rgb.index({torch::indexing::Slice(), mask});
    means.push_back(px.mean(1));
    EXPECT_GT(px.std(1).mean().item<double>(), 0.03) << synth::class_names()[size_t(c)] << " is flat";
  }
  const auto road = means[0], sky = means[1], veg = means[2];
  EXPECT_GT(sky[2].item<double>(), road[2].item<double>() + 0.1);  // sky bluer/brighter than asphalt
  EXPECT_GT(veg[1].item<double>(), veg[2].item<double>() + 0.05);  // vegetation green
}

TEST(StreetScenes, ClipFramesAreCoherent) {
  const synth::StreetScenes scenes(128, 256, 3);
  double worst_consecutive = 1, mean_consecutive = 0, mean_unrelated = 0;
  int n = 0;
  for (uint64_t clip = 0; clip < 3; ++clip) {
    torch::Tensor previous = scenes.clip_frame(clip, 0).labels;
    for (int t = 1; t <= 12; ++t) {
      const auto current = scenes.clip_frame(clip, t).labels;
      const double a = agreement(previous, current);
      worst_consecutive = std::min(worst_consecutive, a);
      mean_consecutive += a;
      mean_unrelated += agreement(current, scenes.scene(clip * 100 + uint64_t(t)).labels);
      ++n;
      previous = current;
    }
  }
  mean_consecutive /= n;
  mean_unrelated /= n;
  std::printf("[ report ] label agreement: consecutive clip frames mean %.3f worst %.3f; unrelated scenes mean %.3f\n",
              mean_consecutive, worst_consecutive, mean_unrelated);
  EXPECT_GT(worst_consecutive, 0.7);
  EXPECT_GT(mean_consecutive, 0.85);
  EXPECT_LT(mean_unrelated, mean_consecutive - 0.2);
  // The camera moves: frames 30 apart differ clearly.
  EXPECT_LT(agreement(scenes.clip_frame(0, 0).labels, scenes.clip_frame(0, 30).labels), mean_consecutive - 0.05);
}

TEST(StreetScenes, FastEnoughForTrainingLoops) {
  const synth::StreetScenes scenes(128, 256, 4);
  scenes.scene(0);  // warm-up
  const int n = 40;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) scenes.scene(uint64_t(i) + 1);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / n;
  std::printf("[ report ] %.2f ms per 128x256 scene\n", ms);
  EXPECT_LT(ms, 25.0);  // ~5 ms on one core; loose for loaded or debug builds
}

TEST(StreetScenes, ColourLabels) {
  const auto labels = torch::arange(kNumClasses, torch::kLong).view({1, kNumClasses});
  const cv::Mat rgb = synth::colour_labels(labels);
  ASSERT_EQ(rgb.type(), CV_8UC3);
  for (int c = 0; c < kNumClasses; ++c) {
    const auto want = synth::class_colour(c);
    EXPECT_EQ(rgb.at<cv::Vec3b>(0, c), cv::Vec3b(want[0], want[1], want[2]));
  }
  EXPECT_EQ(synth::class_names().size(), size_t(kNumClasses));
  EXPECT_EQ(synth::class_names()[synth::kTrafficSign], "traffic-sign");
}

TEST(StreetScenesCityscapes, ClassMapping) {
  EXPECT_EQ(synth::cityscapes_class(0), synth::kVoid);
  EXPECT_EQ(synth::cityscapes_class(1), synth::kVoid);  // ego vehicle
  EXPECT_EQ(synth::cityscapes_class(6), synth::kVoid);  // ground
  EXPECT_EQ(synth::cityscapes_class(7), synth::kRoad);
  EXPECT_EQ(synth::cityscapes_class(9), synth::kRoad);  // parking
  EXPECT_EQ(synth::cityscapes_class(8), synth::kSidewalk);
  EXPECT_EQ(synth::cityscapes_class(11), synth::kBuilding);
  EXPECT_EQ(synth::cityscapes_class(12), synth::kBuilding);  // wall
  EXPECT_EQ(synth::cityscapes_class(13), synth::kFence);
  EXPECT_EQ(synth::cityscapes_class(14), synth::kFence);  // guard rail
  EXPECT_EQ(synth::cityscapes_class(17), synth::kPole);
  EXPECT_EQ(synth::cityscapes_class(19), synth::kTrafficSign);  // traffic light
  EXPECT_EQ(synth::cityscapes_class(20), synth::kTrafficSign);
  EXPECT_EQ(synth::cityscapes_class(21), synth::kVegetation);
  EXPECT_EQ(synth::cityscapes_class(22), synth::kTerrain);
  EXPECT_EQ(synth::cityscapes_class(23), synth::kSky);
  EXPECT_EQ(synth::cityscapes_class(24), synth::kPerson);
  EXPECT_EQ(synth::cityscapes_class(25), synth::kPerson);  // rider
  EXPECT_EQ(synth::cityscapes_class(26), synth::kCar);
  EXPECT_EQ(synth::cityscapes_class(28), synth::kCar);  // bus
  EXPECT_EQ(synth::cityscapes_class(33), synth::kCar);  // bicycle
  EXPECT_EQ(synth::cityscapes_class(-1), synth::kCar);  // license plate
  EXPECT_EQ(synth::cityscapes_class(34), synth::kVoid);
  EXPECT_EQ(synth::cityscapes_class(200), synth::kVoid);
}

// A 2-image Cityscapes tree: labelIds with road below, sky above, a car box;
// images coloured to match.
void write_fake_cityscapes(const std::string& root) {
  namespace fs = std::filesystem;
  for (const char* city : {"aachen", "bremen"}) {
    fs::create_directories(root + "/gtFine/train/" + city);
    fs::create_directories(root + "/leftImg8bit/train/" + city);
  }
  for (int k = 0; k < 2; ++k) {
    const std::string city = k == 0 ? "aachen" : "bremen", name = city + "_000000_00001" + std::to_string(k);
    cv::Mat ids(64, 128, CV_8UC1, cv::Scalar(23));
    ids.rowRange(32, 64).setTo(7);
    ids(cv::Rect(40 + 8 * k, 24, 24, 16)).setTo(26);
    ids.row(0).setTo(k == 0 ? 0 : 255);  // unlabeled / license plate (-1 stored as 255)
    cv::Mat bgr(64, 128, CV_8UC3, cv::Scalar(200, 150, 100));
    bgr.rowRange(32, 64).setTo(cv::Scalar(80, 80, 80));
    ASSERT_TRUE(cv::imwrite(root + "/gtFine/train/" + city + "/" + name + "_gtFine_labelIds.png", ids));
    ASSERT_TRUE(cv::imwrite(root + "/leftImg8bit/train/" + city + "/" + name + "_leftImg8bit.png", bgr));
  }
}

TEST(StreetScenesCityscapes, ReadsAFolder) {
  testing::TempDir tmp;
  write_fake_cityscapes(tmp.path());
  const synth::CityscapesFolder folder(tmp.path(), "train", 32, 64);
  ASSERT_EQ(folder.size(), 2);
  EXPECT_EQ(folder.height(), 32);
  EXPECT_EQ(folder.width(), 64);
  EXPECT_NE(folder.label_path(0).find("aachen"), std::string::npos);
  EXPECT_NE(folder.image_path(1).find("bremen_000000_000011_leftImg8bit.png"), std::string::npos);
  const auto s = folder.scene(0);
  ASSERT_EQ(s.labels.sizes(), (std::vector<int64_t>{32, 64}));
  ASSERT_EQ(s.image.sizes(), (std::vector<int64_t>{3, 32, 64}));
  EXPECT_EQ(s.labels[0][5].item<int64_t>(), synth::kVoid);
  EXPECT_EQ(s.labels[5][5].item<int64_t>(), synth::kSky);
  EXPECT_EQ(s.labels[25][5].item<int64_t>(), synth::kRoad);
  EXPECT_EQ(s.labels[14][30].item<int64_t>(), synth::kCar);
  EXPECT_EQ(folder.scene(1).labels[0][5].item<int64_t>(), synth::kCar);  // 255 = -1, license plate
  // Image RGB (not BGR) in [-1,1]: the sky is (100,150,200).
  EXPECT_NEAR(s.image[0][5][5].item<float>(), 100 / 127.5 - 1, 1e-5);
  EXPECT_NEAR(s.image[2][5][5].item<float>(), 200 / 127.5 - 1, 1e-5);
  EXPECT_NEAR(s.image[1][25][5].item<float>(), 80 / 127.5 - 1, 1e-5);
  // Index wraps in scene() and scene_batch().
  EXPECT_TRUE(torch::equal(folder.scene(2).labels, s.labels));
  const auto batch = synth::scene_batch(folder, 1, 3);
  EXPECT_TRUE(torch::equal(batch.labels[1], s.labels));
}

void expect_input_error(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no InputError (wanted one naming " << needle << ")";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(StreetScenesCityscapes, MissingFilesAreInputErrors) {
  testing::TempDir tmp;
  expect_input_error([&] { synth::CityscapesFolder(tmp.path(), "train", 32, 64); }, tmp.path() + "/gtFine/train");
  write_fake_cityscapes(tmp.path());
  expect_input_error([&] { synth::CityscapesFolder(tmp.path(), "val", 32, 64); }, "gtFine/val");
  const std::string image = tmp.path() + "/leftImg8bit/train/bremen/bremen_000000_000011_leftImg8bit.png";
  std::filesystem::remove(image);
  expect_input_error([&] { synth::CityscapesFolder(tmp.path(), "train", 32, 64); }, image);
  // A file that vanished or broke after listing: named when read.
  write_fake_cityscapes(tmp.path());
  const synth::CityscapesFolder folder(tmp.path(), "train", 32, 64);
  std::FILE* f = std::fopen(folder.label_path(0).c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("not a png", f);
  std::fclose(f);
  expect_input_error([&] { folder.scene(0); }, folder.label_path(0));
}

}  // namespace
}  // namespace fiancee
