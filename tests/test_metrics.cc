#include "core/metrics.h"

#include "core/errors.h"
#include "core/safetensors.h"
#include "tests/fixtures.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace fiancee {
namespace {

using fiancee::testing::TempDir;

// Smooth gradients, a sine ripple, a disc and a bar: structure at every scale, [1,3,size,size] in [-1,1].
torch::Tensor procedural_image(int64_t size) {
  const auto r = torch::linspace(0, 1, size);
  const auto yy = r.view({size, 1}).expand({size, size});
  const auto xx = r.view({1, size}).expand({size, size});
  auto red = xx.clone();
  auto green = yy.clone();
  auto blue = 0.5 + 0.5 * torch::sin(12.0 * (xx + 0.5 * yy));
  const auto disc = (xx - 0.6).pow(2) + (yy - 0.4).pow(2) < 0.04;
  const auto bar = (xx > 0.15) & (xx < 0.3) & (yy > 0.2) & (yy < 0.9);
  red = torch::where(disc, 1 - red, red);
  green = torch::where(bar, torch::full_like(green, 0.1), green);
  blue = torch::where(bar, torch::full_like(blue, 0.9), blue);
  return (torch::stack({red, green, blue}).unsqueeze(0) * 2 - 1).contiguous();
}

// `copies` noisy versions of img; sigma is relative to the [0,1] range.
torch::Tensor noisy(const torch::Tensor& img, double sigma, int64_t copies = 1, uint64_t seed = 1) {
  torch::manual_seed(seed);
  const auto batch = img.expand({copies, -1, -1, -1});
  return (batch + 2 * sigma * torch::randn(batch.sizes())).clamp(-1, 1);
}

template <typename E>
void expect_throw_with(const std::function<void()>& fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "no exception; expected one mentioning '" << needle << "'";
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

// Distances for sigma 0.05, 0.1, 0.2, 0.4 (mean over `copies` noise draws) strictly increase.
void expect_grows_with_noise(const QualityMetric& metric, const torch::Tensor& img, int64_t copies) {
  double previous = 0;
  for (double sigma : {0.05, 0.1, 0.2, 0.4}) {
    const auto d = metric.distance(img.expand({copies, -1, -1, -1}), noisy(img, sigma, copies));
    ASSERT_EQ(d.sizes(), torch::IntArrayRef({copies}));
    EXPECT_TRUE((d > 0).all().item<bool>()) << metric.name() << " sigma " << sigma << ": " << d;
    const double mean = d.mean().item<double>();
    EXPECT_GT(mean, previous) << metric.name() << " sigma " << sigma;
    previous = mean;
  }
}

void expect_symmetric_and_batched(const QualityMetric& metric, int64_t size) {
  const auto a = torch::cat({procedural_image(size), noisy(procedural_image(size), 0.3)});
  const auto b = torch::cat({noisy(a[0].unsqueeze(0), 0.1, 1, 7), noisy(a[1].unsqueeze(0), 0.2, 1, 8)});
  const auto batched = metric.distance(a, b);
  ASSERT_EQ(batched.sizes(), torch::IntArrayRef({2}));
  EXPECT_TRUE(torch::allclose(batched, metric.distance(b, a), 1e-5, 1e-6)) << metric.name();
  for (int64_t i = 0; i < 2; ++i) {
    const auto single = metric.distance(a[i].unsqueeze(0), b[i].unsqueeze(0));
    EXPECT_NEAR(batched[i].item<double>(), single.item<double>(), 1e-5) << metric.name() << " image " << i;
  }
}

// ---------------------------------------------------------------------------------------------
// MS-SSIM against a direct, loop-based evaluation of the definition.

using Plane = std::vector<std::vector<double>>;

// Mean SSIM and mean contrast-structure over all valid 11x11 (or smaller) windows.
std::pair<double, double> naive_ssim_cs(const Plane& x, const Plane& y) {
  const int h = x.size(), w = x[0].size(), win = std::min({11, h, w});
  std::vector<double> g(win);
  double total = 0;
  for (int i = 0; i < win; ++i) total += g[i] = std::exp(-std::pow(i - (win - 1) / 2.0, 2) / (2 * 1.5 * 1.5));
  double ssim = 0, cs = 0;
  int count = 0;
  for (int r = 0; r + win <= h; ++r) {
    for (int c = 0; c + win <= w; ++c) {
      double mx = 0, my = 0, sxx = 0, syy = 0, sxy = 0;
      for (int i = 0; i < win; ++i) {
        for (int j = 0; j < win; ++j) {
          const double k = g[i] * g[j] / (total * total), a = x[r + i][c + j], b = y[r + i][c + j];
          mx += k * a, my += k * b, sxx += k * a * a, syy += k * b * b, sxy += k * a * b;
        }
      }
      const double c1 = 1e-4, c2 = 9e-4;
      const double s = (2 * (sxy - mx * my) + c2) / (sxx - mx * mx + syy - my * my + c2);
      cs += s;
      ssim += s * (2 * mx * my + c1) / (mx * mx + my * my + c1);
      ++count;
    }
  }
  return {ssim / count, cs / count};
}

Plane pool(const Plane& p) {
  Plane out(p.size() / 2, std::vector<double>(p[0].size() / 2));
  for (size_t r = 0; r < out.size(); ++r)
    for (size_t c = 0; c < out[0].size(); ++c)
      out[r][c] = (p[2 * r][2 * c] + p[2 * r + 1][2 * c] + p[2 * r][2 * c + 1] + p[2 * r + 1][2 * c + 1]) / 4;
  return out;
}

double naive_distance(const torch::Tensor& a, const torch::Tensor& b, int levels) {
  const double all[] = {0.0448, 0.2856, 0.3001, 0.2363, 0.1333};
  double sum = 0;
  for (int l = 0; l < levels; ++l) sum += all[l];
  double mean = 0;
  for (int ch = 0; ch < 3; ++ch) {
    Plane x(a.size(2), std::vector<double>(a.size(3))), y = x;
    for (int64_t r = 0; r < a.size(2); ++r) {
      for (int64_t c = 0; c < a.size(3); ++c) {
        x[r][c] = (a[0][ch][r][c].item<double>() + 1) / 2;
        y[r][c] = (b[0][ch][r][c].item<double>() + 1) / 2;
      }
    }
    double value = 1;
    for (int l = 0; l < levels; ++l) {
      if (l > 0) x = pool(x), y = pool(y);
      const auto [ssim, cs] = naive_ssim_cs(x, y);
      value *= std::pow(std::max(l + 1 < levels ? cs : ssim, 0.0), all[l] / sum);
    }
    mean += value / 3;
  }
  return 1 - mean;
}

TEST(MsSsim, MatchesDefinitionAtOneTwoAndThreeScales) {
  const auto metric = make_ms_ssim_distance();
  // 16 px: one scale (8 < 11); 30x40: two (15x20 then 7x10); 44 px: three (22, 11).
  for (auto [h, w, levels] : {std::tuple<int64_t, int64_t, int>{16, 16, 1}, {30, 40, 2}, {44, 44, 3}}) {
    const auto a = procedural_image(std::max(h, w)).slice(2, 0, h).slice(3, 0, w).to(torch::kDouble);
    const auto b = noisy(a, 0.1).to(torch::kDouble);
    EXPECT_NEAR(metric->distance(a, b).item<double>(), naive_distance(a, b, levels), 1e-9) << h << "x" << w;
  }
}

TEST(MsSsim, IdentityIsZero) {
  const auto metric = make_ms_ssim_distance();
  for (int64_t size : {5, 64, 256}) {
    const auto img = noisy(procedural_image(size), 0.1);
    EXPECT_NEAR(metric->distance(img, img).item<double>(), 0.0, 1e-6) << size;
  }
}

TEST(MsSsim, GrowsWithNoiseAt64) { expect_grows_with_noise(*make_ms_ssim_distance(), procedural_image(64), 2); }
TEST(MsSsim, GrowsWithNoiseAt256) { expect_grows_with_noise(*make_ms_ssim_distance(), procedural_image(256), 2); }

TEST(MsSsim, SymmetricAndBatched) { expect_symmetric_and_batched(*make_ms_ssim_distance(), 64); }

TEST(MsSsim, UnrelatedImagesStayInRange) {
  const auto metric = make_ms_ssim_distance();
  const auto img = procedural_image(128);
  for (const auto& other : {-img, torch::rand_like(img) * 2 - 1, torch::full_like(img, 1.0)}) {
    const double d = metric->distance(img, other).item<double>();
    EXPECT_GE(d, 0.5);
    EXPECT_LE(d, 1.0);
  }
}

TEST(MsSsim, RejectsBadInputs) {
  const auto metric = make_ms_ssim_distance();
  const auto img = procedural_image(32);
  expect_throw_with<InputError>([&] { metric->distance(img, procedural_image(16)); }, "different shapes");
  expect_throw_with<InputError>([&] { metric->distance(img[0], img[0]); }, "[N,3,H,W]");
  expect_throw_with<InputError>([&] { metric->distance(img.to(torch::kInt), img.to(torch::kInt)); },
                                "floating-point");
}

TEST(MsSsim, CudaMatchesCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const auto metric = make_ms_ssim_distance();
  const auto a = procedural_image(96).expand({2, -1, -1, -1});
  const auto b = noisy(procedural_image(96), 0.2, 2);
  const auto gpu = metric->distance(a.cuda(), b.cuda());
  EXPECT_TRUE(gpu.is_cuda());
  EXPECT_TRUE(torch::allclose(gpu.cpu(), metric->distance(a, b), 1e-4, 1e-5));
}

// ---------------------------------------------------------------------------------------------
// LPIPS with weights generated here: He-initialised trunk, non-negative lin layers.

struct Conv {
  int index;
  int64_t in, out, kernel;
  bool tap;
};

const std::vector<Conv> kAlex = {
    {0, 3, 64, 11, true}, {3, 64, 192, 5, true}, {6, 192, 384, 3, true}, {8, 384, 256, 3, true}, {10, 256, 256, 3, true}};
const std::vector<Conv> kVgg = {{0, 3, 64, 3, false},     {2, 64, 64, 3, true},     {5, 64, 128, 3, false},
                                {7, 128, 128, 3, true},   {10, 128, 256, 3, false}, {12, 256, 256, 3, false},
                                {14, 256, 256, 3, true},  {17, 256, 512, 3, false}, {19, 512, 512, 3, false},
                                {21, 512, 512, 3, true},  {24, 512, 512, 3, false}, {26, 512, 512, 3, false},
                                {28, 512, 512, 3, true}};

safetensors::TensorMap random_lpips(const std::vector<Conv>& convs) {
  torch::manual_seed(11);
  safetensors::TensorMap map;
  int lin = 0;
  for (const auto& c : convs) {
    const auto prefix = "features." + std::to_string(c.index);
    map[prefix + ".weight"] = torch::randn({c.out, c.in, c.kernel, c.kernel}) * std::sqrt(2.0 / (c.in * c.kernel * c.kernel));
    map[prefix + ".bias"] = torch::randn({c.out}) * 0.01;
    if (c.tap) map["lin" + std::to_string(lin++) + ".weight"] = torch::rand({1, c.out, 1, 1}) / c.out * 10;
  }
  return map;
}

class Lpips : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<TempDir>();
    weights_ = random_lpips(kAlex);
    safetensors::save(alex_path(), weights_);
  }
  static void TearDownTestSuite() { dir_.reset(); }
  static std::string alex_path() { return dir_->file("lpips_alex.safetensors"); }
  // Saves the alex weights with one change and returns the file.
  static std::string variant_file(const std::function<void(safetensors::TensorMap&)>& change) {
    auto map = weights_;
    change(map);
    const auto path = dir_->file("changed.safetensors");
    safetensors::save(path, map);
    return path;
  }

  static std::unique_ptr<TempDir> dir_;
  static safetensors::TensorMap weights_;
};
std::unique_ptr<TempDir> Lpips::dir_;
safetensors::TensorMap Lpips::weights_;

TEST_F(Lpips, IdentityIsZero) {
  const auto metric = make_lpips("alex", alex_path());
  const auto img = noisy(procedural_image(64), 0.1, 3);
  const auto d = metric->distance(img, img);
  ASSERT_EQ(d.sizes(), torch::IntArrayRef({3}));
  EXPECT_LT(d.abs().max().item<double>(), 1e-6);
}

TEST_F(Lpips, GrowsWithNoise) { expect_grows_with_noise(*make_lpips("alex", alex_path()), procedural_image(64), 4); }

TEST_F(Lpips, SymmetricAndBatched) { expect_symmetric_and_batched(*make_lpips("alex", alex_path()), 64); }

TEST_F(Lpips, NamesAndUnit) {
  const auto metric = make_metric("lpips-alex", alex_path());
  EXPECT_EQ(metric->name(), "lpips-alex");
  EXPECT_NE(metric->unit().find("LPIPS"), std::string::npos);
}

TEST_F(Lpips, MissingFileIsUnavailable) {
  const auto path = dir_->file("absent.safetensors");
  expect_throw_with<UnavailableError>([&] { make_lpips("alex", path); }, path);
  expect_throw_with<UnavailableError>([&] { make_metric("lpips-vgg", path); }, "docs/metrics.md");
}

TEST_F(Lpips, MissingTensorNamesIt) {
  for (const std::string name : {"lin2.weight", "features.3.bias"}) {
    const auto path = variant_file([&](auto& map) { map.erase(name); });
    expect_throw_with<PackageError>([&] { make_lpips("alex", path); }, name);
    expect_throw_with<PackageError>([&] { make_lpips("alex", path); }, path);
  }
}

TEST_F(Lpips, WrongShapeNamesIt) {
  const auto path = variant_file([](auto& map) { map["features.6.weight"] = torch::zeros({384, 192, 5, 5}); });
  expect_throw_with<PackageError>([&] { make_lpips("alex", path); }, "features.6.weight");
  // An alex file is not a vgg file: the first convolution already differs.
  expect_throw_with<PackageError>([&] { make_lpips("vgg", alex_path()); }, "features.0.weight");
}

TEST_F(Lpips, RejectsNegativeLinAndExtraTensors) {
  auto path = variant_file([](auto& map) { map["lin4.weight"] = -map["lin4.weight"]; });
  expect_throw_with<PackageError>([&] { make_lpips("alex", path); }, "lin4.weight");
  path = variant_file([](auto& map) { map["classifier.1.weight"] = torch::zeros({2}); });
  expect_throw_with<PackageError>([&] { make_lpips("alex", path); }, "classifier.1.weight");
}

TEST_F(Lpips, RejectsTooSmallImages) {
  const auto metric = make_lpips("alex", alex_path());
  const auto img = procedural_image(30);
  expect_throw_with<InputError>([&] { metric->distance(img, img); }, "too small");
  EXPECT_NO_THROW(metric->distance(procedural_image(31), procedural_image(31)));
}

TEST_F(Lpips, CudaMatchesCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  const auto metric = make_lpips("alex", alex_path());
  const auto a = procedural_image(64).expand({2, -1, -1, -1});
  const auto b = noisy(procedural_image(64), 0.2, 2);
  const auto gpu = metric->distance(a.cuda(), b.cuda());
  EXPECT_TRUE(gpu.is_cuda());
  EXPECT_TRUE(torch::allclose(gpu.cpu(), metric->distance(a, b), 1e-3, 1e-5));
}

TEST(LpipsVgg, IdentityZeroAndGrowsWithNoise) {
  TempDir dir;
  const auto path = dir.file("lpips_vgg.safetensors");
  safetensors::save(path, random_lpips(kVgg));
  const auto metric = make_lpips("vgg", path);
  EXPECT_EQ(metric->name(), "lpips-vgg");
  const auto img = procedural_image(64);
  EXPECT_LT(metric->distance(img, img).abs().item<double>(), 1e-6);
  expect_grows_with_noise(*metric, img, 2);
}

// ---------------------------------------------------------------------------------------------

TEST(Metric, MakeByName) {
  const auto ms = make_metric("1-ms-ssim");
  EXPECT_EQ(ms->name(), "1-ms-ssim");
  EXPECT_NE(ms->unit().find("MS-SSIM"), std::string::npos);
  expect_throw_with<InputError>([] { make_metric("psnr"); }, "1-ms-ssim, lpips-alex, lpips-vgg");
  expect_throw_with<InputError>([] { make_metric("psnr"); }, "psnr");
  expect_throw_with<InputError>([] { make_lpips("squeeze", "/nonexistent"); }, "squeeze");
}

TEST(Metric, LpipsWithoutWeightsIsUnavailable) {
  for (const std::string name : {"lpips-alex", "lpips-vgg"})
    expect_throw_with<UnavailableError>([&] { make_metric(name); }, "docs/metrics.md");
}

}  // namespace
}  // namespace fiancee
