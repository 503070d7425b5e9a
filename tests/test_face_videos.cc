// VoxCeleb-style training data: procedural head videos written, read back
// through the run-time face front end, and sampled for self-reenactment.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include <filesystem>
#include <fstream>

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

TEST_F(VideoFolder, ReadsEveryIdentityThroughTheFrontEnd) {
  if (!have_model()) GTEST_SKIP() << "no " << face::kDefaultShapeModelPath;
  reenact::VideoFaces data(dir_, options());
  EXPECT_EQ(data.identities(), 2) << "two head identities; the empty folder and the text file are skipped";
  EXPECT_GE(data.faces(), 2 * 2 * 8 / 2) << "dlib finds most rendered heads (14 of 16 in HeadGen.DlibOnRendersReport)";
  EXPECT_LE(data.faces(), 2 * 2 * 8);
  const auto src = data.source(0);
  EXPECT_EQ(src.sizes(), (torch::IntArrayRef{3, 32, 32}));
  EXPECT_GE(src.min().item<float>(), -1.f);
  EXPECT_LE(src.max().item<float>(), 1.f);
}

TEST_F(VideoFolder, SamplesAreDeterministicAndGuidesAreNotTheTarget) {
  if (!have_model()) GTEST_SKIP() << "no " << face::kDefaultShapeModelPath;
  reenact::VideoFaces data(dir_, options());
  const auto a = data.sample(6, 3), b = data.sample(6, 3), c = data.sample(6, 4);
  EXPECT_EQ(a.driver.sizes(), (torch::IntArrayRef{6, 3, 32, 32}));
  EXPECT_EQ(a.key.sizes(), (torch::IntArrayRef{6, face::kKeyDim}));
  EXPECT_TRUE(torch::equal(a.driver, b.driver) && torch::equal(a.source, b.source) && torch::equal(a.guide, b.guide));
  EXPECT_FALSE(torch::equal(a.driver, c.driver));
  for (int i = 0; i < 6; ++i) {
    EXPECT_FALSE(torch::equal(a.guide[i], a.driver[i])) << "the guide must not hand the branch its target";
    EXPECT_FALSE(torch::equal(a.source[i], a.driver[i])) << "source and driver are two different frames";
  }
  const auto guides = data.avatar_frames(4);
  EXPECT_EQ(guides.keys.size(0), 4);
  EXPECT_EQ(guides.images.sizes(), (torch::IntArrayRef{4, 3, 32, 32}));
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
