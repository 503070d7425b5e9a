// VoxCeleb-style training data: procedural head videos written, read back
// through the run-time face front end, and sampled for self-reenactment.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <opencv2/core.hpp>

#include "core/errors.h"
#include "pipelines/face_frontend.h"
#include "datasets/face_videos.h"

namespace fiancee {
namespace {

namespace fs = std::filesystem;

class VideoFolder : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = (fs::temp_directory_path() / ("fiancee-videos-" + std::to_string(::getpid()))).string();
    fs::remove_all(dir_);
    reenact::write_procedural_videos(dir_, 2, 2, 16, 256, 5);
    std::ofstream(dir_ + "/id0/notes.txt") << "not a video";  // ignored
    fs::create_directories(dir_ + "/empty-identity");          // skipped: no faces
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static bool have_model() { return bool(std::ifstream(face::kDefaultShapeModelPath)); }
  static reenact::VideoFacesOptions options() {
    reenact::VideoFacesOptions o;
    o.resolution = 32;
    o.frames_per_video = 8;
    return o;
  }
  static std::string dir_;
};
std::string VideoFolder::dir_;

// Every landmark of a crop lies inside it, and the five points the crop is
// fitted to have the template's centroid there (a least-squares similarity
// maps centroid to centroid): the landmarks are in that crop's pixels.
void expect_in_crop(const face::Landmarks& l, int size, const std::string& what) {
  int outside = 0;
  for (const auto& p : l) outside += !(p.x >= 0 && p.y >= 0 && p.x < size && p.y < size);
  EXPECT_EQ(outside, 0) << what << ": landmarks outside the crop";
  const cv::Point2f fitted = (l[36] + l[37] + l[38] + l[39] + l[40] + l[41]) * (1.f / 6) +
                             (l[42] + l[43] + l[44] + l[45] + l[46] + l[47]) * (1.f / 6) + l[30] + l[48] + l[54];
  cv::Point2f centre(0, 0);
  for (const auto& t : face::crop_template()) centre += t * float(size);
  EXPECT_LT(cv::norm(fitted * 0.2f - centre * 0.2f), 0.05) << what;
}

bool same(const cv::Mat& a, const cv::Mat& b) { return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0; }

TEST_F(VideoFolder, ReadsEveryIdentityThroughTheFrontEnd) {
  if (!have_model()) GTEST_SKIP() << "no " << face::kDefaultShapeModelPath;
  reenact::VideoFaces data(dir_, options());
  EXPECT_EQ(data.identities(), 2) << "two head identities; the empty folder and the text file are skipped";
  EXPECT_GE(data.faces(), 2 * 2 * 8 / 2) << "dlib finds most rendered heads (14 of 16 in HeadGen.DlibOnRendersReport)";
  EXPECT_LE(data.faces(), 2 * 2 * 8);
  const cv::Mat avatar = data.sample_avatar();
  EXPECT_EQ(avatar.size(), cv::Size(32, 32));
  EXPECT_EQ(avatar.type(), CV_8UC3);
  cv::Scalar mean, stddev;
  cv::meanStdDev(avatar.reshape(1), mean, stddev);
  EXPECT_GT(stddev[0], 10) << "a face, not a blank crop";
}

TEST_F(VideoFolder, PairsAreDeterministicAndTwoMomentsInTheirCrops) {
  if (!have_model()) GTEST_SKIP() << "no " << face::kDefaultShapeModelPath;
  reenact::VideoFaces data(dir_, options());
  const auto a = data.pairs(6, 3), b = data.pairs(6, 3), c = data.pairs(6, 4);
  ASSERT_EQ(a.size(), 6u);
  ASSERT_EQ(b.size(), 6u);
  ASSERT_EQ(c.size(), 6u);
  bool any_differs = false;
  for (int i = 0; i < 6; ++i) {
    const std::string at = "pair " + std::to_string(i);
    EXPECT_EQ(a[i].source.size(), cv::Size(32, 32)) << at;
    EXPECT_EQ(a[i].driver.size(), cv::Size(32, 32)) << at;
    EXPECT_EQ(a[i].source.type(), CV_8UC3) << at;
    EXPECT_EQ(a[i].driver.type(), CV_8UC3) << at;
    EXPECT_TRUE(same(a[i].source, b[i].source) && same(a[i].driver, b[i].driver)) << at << ": the same index gives the same pair";
    EXPECT_TRUE(a[i].source_landmarks == b[i].source_landmarks && a[i].driver_landmarks == b[i].driver_landmarks) << at;
    any_differs = any_differs || !same(a[i].driver, c[i].driver);
    EXPECT_FALSE(same(a[i].source, a[i].driver)) << at << ": source and driver are two different frames";
    EXPECT_NE(a[i].source_landmarks, a[i].driver_landmarks) << at;
    expect_in_crop(a[i].source_landmarks, 32, at + " source");
    expect_in_crop(a[i].driver_landmarks, 32, at + " driver");
  }
  EXPECT_TRUE(any_differs) << "another index gives other pairs";
  // Pairs are handed out as copies: writing into one leaves the data as read.
  const cv::Mat before = a[0].driver.clone();
  cv::Mat written = a[0].driver;
  written.setTo(cv::Scalar::all(0));
  EXPECT_TRUE(same(data.pairs(6, 3)[0].driver, before));
  const auto batch = data.sample(6, 3);
  EXPECT_EQ(batch.input.sizes(), (torch::IntArrayRef{6, reenact::kRefinerInputChannels, 32, 32}));
  EXPECT_EQ(batch.key.sizes(), (torch::IntArrayRef{6, face::kKeyDim}));
  EXPECT_TRUE(torch::equal(batch.driver, data.sample(6, 3).driver));
}

TEST_F(VideoFolder, ErrorsNameTheFolder) {
  if (!have_model()) GTEST_SKIP() << "no " << face::kDefaultShapeModelPath;
  auto expect_error = [](const std::string& dir, const std::string& what) {
    try {
      reenact::VideoFaces data(dir, options());
      FAIL() << "no error for " << dir;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(dir), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
    }
  };
  expect_error(dir_ + "/no-such-folder", "not a folder");
  expect_error(dir_ + "/id0", "no identity folder");  // videos directly inside: no identity sub-folders
}

TEST(ForEachFrame, RefusesWhatIsNeitherVideoNorFolder) {
  const auto path = (fs::temp_directory_path() / "fiancee-not-a-video.txt").string();
  std::ofstream(path) << "text";
  EXPECT_THROW(reenact::for_each_frame(path, [](const cv::Mat&) { return true; }), InputError);
  fs::remove(path);
}

}  // namespace
}  // namespace fiancee
