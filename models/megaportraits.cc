#include "models/megaportraits.h"

#include <ATen/ATen.h>
#include <torch/nn/functional/pooling.h>
#include <torch/nn/functional/upsampling.h>
#include <torch/nn/init.h>

#include <cmath>
#include <utility>

#include "models/blocks.h"

namespace fiancee::models {

namespace F = torch::nn::functional;

namespace {

torch::nn::Conv2dOptions conv2d(int in, int out, int k, int stride = 1) {
  return torch::nn::Conv2dOptions(in, out, k).stride(stride).padding(k / 2);
}
torch::nn::Conv3dOptions conv3d(int in, int out, int k) { return torch::nn::Conv3dOptions(in, out, k).padding(k / 2); }

// Output size of a stride-2 conv with padding k / 2.
int64_t stride2(int64_t s, int64_t k) { return (s + 2 * (k / 2) - k) / 2 + 1; }

int64_t resdown_macs(int64_t in, int64_t out, int64_t h, int64_t w) {
  return conv_macs(in, out, 3, h, w) + conv_macs(out, out, 3, h / 2, w / 2) + conv_macs(in, out, 1, h / 2, w / 2);
}

int64_t res3d_macs(int64_t in, int64_t out, bool upsample, int64_t d, int64_t h, int64_t w) {
  if (upsample) d *= 2, h *= 2, w *= 2;
  return conv3d_macs(in, out, 3, d, h, w) + conv3d_macs(out, out, 3, d, h, w) +
         (in != out ? conv3d_macs(in, out, 1, d, h, w) : 0);
}

int64_t appearance_macs(const MegaPortraitsConfig& c, int64_t h, int64_t w) {
  int64_t m = conv_macs(3, c.app_stem, c.app_stem_kernel, h, w);
  int64_t in = c.app_stem;
  for (int out : c.app_down) {
    m += resdown_macs(in, out, h, w);
    in = out, h /= 2, w /= 2;
  }
  m += conv_macs(in, c.lift_channels(), 1, h, w);
  for (int k = 0; k < c.app_blocks3d; ++k)
    m += res3d_macs(c.volume_channels, c.volume_channels, false, c.volume_depth, h, w);
  return m + in * c.descriptor_dim;
}

int64_t motion_macs(const MegaPortraitsConfig& c) {
  int64_t s = stride2(c.motion_size, c.motion_stem_kernel);
  int64_t m = conv_macs(3, c.motion_stem, c.motion_stem_kernel, s, s);
  int64_t in = c.motion_stem;
  for (int out : c.motion_down) {
    m += resdown_macs(in, out, s, s);
    in = out, s /= 2;
  }
  return m + in * (3 + 3 + c.expression_dim);
}

int64_t warp_macs(const MegaPortraitsConfig& c) {
  int64_t m = int64_t{c.expression_dim + c.descriptor_dim} * 2 * c.warp_channels;
  int64_t d = c.warp_depth, s = c.warp_size, in = c.warp_channels;
  for (int out : c.warp_up) {
    m += res3d_macs(in, out, true, d, s, s);
    in = out, d *= 2, s *= 2;
  }
  return m + conv3d_macs(in, 3, 3, d, s, s);
}

torch::Tensor hswish(const torch::Tensor& x) { return torch::hardswish(x); }

}  // namespace

MegaPortraitsConfig MegaPortraitsConfig::paper() { return MegaPortraitsConfig{}; }

MegaPortraitsConfig MegaPortraitsConfig::tiny() {
  MegaPortraitsConfig c;
  c.image_size = 32;
  c.app_stem = 8;
  c.app_stem_kernel = 3;
  c.app_down = {16, 32};
  c.volume_channels = 4;
  c.volume_depth = 4;
  c.app_blocks3d = 1;
  c.descriptor_dim = 16;
  c.motion_size = 32;
  c.motion_stem = 8;
  c.motion_stem_kernel = 3;
  c.motion_down = {16, 16};
  c.expression_dim = 8;
  c.warp_channels = 16;
  c.warp_depth = 2;
  c.warp_size = 4;
  c.warp_up = {8};
  c.g3d_blocks = 1;
  c.g2d_channels = 32;
  return c;
}

// ---------------------------------------------------------------- blocks

ResBlockDown2DImpl::ResBlockDown2DImpl(int in, int out) : in_(in), out_(out) {
  norm1_ = register_module("norm1", torch::nn::BatchNorm2d(in));
  conv1_ = register_module("conv1", torch::nn::Conv2d(conv2d(in, out, 3)));
  norm2_ = register_module("norm2", torch::nn::BatchNorm2d(out));
  conv2_ = register_module("conv2", torch::nn::Conv2d(conv2d(out, out, 3)));
  skip_ = register_module("skip", torch::nn::Conv2d(conv2d(in, out, 1)));
}

torch::Tensor ResBlockDown2DImpl::forward(torch::Tensor x) {
  auto h = torch::avg_pool2d(conv1_(hswish(norm1_(x))), 2);
  h = conv2_(hswish(norm2_(h)));
  return h + skip_(torch::avg_pool2d(x, 2));
}

int64_t ResBlockDown2DImpl::macs(int64_t h, int64_t w) const { return resdown_macs(in_, out_, h, w); }

ResBlock3DImpl::ResBlock3DImpl(int in, int out, bool upsample) : in_(in), out_(out), upsample_(upsample) {
  norm1_ = register_module("norm1", torch::nn::BatchNorm3d(in));
  conv1_ = register_module("conv1", torch::nn::Conv3d(conv3d(in, out, 3)));
  norm2_ = register_module("norm2", torch::nn::BatchNorm3d(out));
  conv2_ = register_module("conv2", torch::nn::Conv3d(conv3d(out, out, 3)));
  if (in != out) skip_ = register_module("skip", torch::nn::Conv3d(conv3d(in, out, 1)));
}

torch::Tensor ResBlock3DImpl::forward(torch::Tensor x) {
  if (upsample_)
    x = F::interpolate(x, F::InterpolateFuncOptions()
                              .scale_factor(std::vector<double>{2.0, 2.0, 2.0})
                              .mode(torch::kTrilinear)
                              .align_corners(false));
  auto h = conv1_(hswish(norm1_(x)));
  h = conv2_(hswish(norm2_(h)));
  return h + (skip_ ? skip_(x) : x);
}

int64_t ResBlock3DImpl::macs(int64_t d, int64_t h, int64_t w) const { return res3d_macs(in_, out_, upsample_, d, h, w); }

// ---------------------------------------------------------------- encoders

AppearanceEncoderImpl::AppearanceEncoderImpl(const MegaPortraitsConfig& c) : config_(c) {
  stem_ = register_module("stem", torch::nn::Conv2d(conv2d(3, c.app_stem, c.app_stem_kernel)));
  down_ = register_module("down", torch::nn::ModuleList());
  int in = c.app_stem;
  for (int out : c.app_down) down_->push_back(ResBlockDown2D(in, out)), in = out;
  lift_ = register_module("lift", torch::nn::Conv2d(conv2d(in, c.lift_channels(), 1)));
  blocks3d_ = register_module("blocks3d", torch::nn::ModuleList());
  for (int k = 0; k < c.app_blocks3d; ++k) blocks3d_->push_back(ResBlock3D(c.volume_channels, c.volume_channels, false));
  descriptor_ = register_module("descriptor", torch::nn::Linear(in, c.descriptor_dim));
}

AppearanceOutput AppearanceEncoderImpl::forward(const torch::Tensor& image) {
  auto x = stem_(image);
  for (auto& m : *down_) x = m->as<ResBlockDown2DImpl>()->forward(x);
  AppearanceOutput o;
  o.descriptor = descriptor_(x.mean({2, 3}));
  auto v = lift_(torch::relu(x));
  v = v.reshape({v.size(0), config_.volume_channels, config_.volume_depth, v.size(2), v.size(3)});
  for (auto& m : *blocks3d_) v = m->as<ResBlock3DImpl>()->forward(v);
  o.volume = v;
  return o;
}

int64_t AppearanceEncoderImpl::macs(int64_t h, int64_t w) const { return appearance_macs(config_, h, w); }

MotionEncoderImpl::MotionEncoderImpl(const MegaPortraitsConfig& c) : config_(c) {
  stem_ = register_module("stem", torch::nn::Conv2d(conv2d(3, c.motion_stem, c.motion_stem_kernel, 2)));
  down_ = register_module("down", torch::nn::ModuleList());
  int in = c.motion_stem;
  for (int out : c.motion_down) down_->push_back(ResBlockDown2D(in, out)), in = out;
  rotation_ = register_module("rotation", torch::nn::Linear(in, 3));
  translation_ = register_module("translation", torch::nn::Linear(in, 3));
  expression_ = register_module("expression", torch::nn::Linear(in, c.expression_dim));
}

MotionParams MotionEncoderImpl::forward(const torch::Tensor& image) {
  auto x = image;
  if (x.size(2) != config_.motion_size || x.size(3) != config_.motion_size)
    x = F::interpolate(x, F::InterpolateFuncOptions()
                              .size(std::vector<int64_t>{config_.motion_size, config_.motion_size})
                              .mode(torch::kBilinear)
                              .align_corners(false));
  x = stem_(x);
  for (auto& m : *down_) x = m->as<ResBlockDown2DImpl>()->forward(x);
  auto f = torch::relu(x).mean({2, 3});
  // Angles bounded to (-pi/2, pi/2), translation to (-1, 1).
  return {torch::tanh(rotation_(f)) * (M_PI / 2), torch::tanh(translation_(f)), expression_(f)};
}

int64_t MotionEncoderImpl::macs() const { return motion_macs(config_); }

// ---------------------------------------------------------------- warping

WarpGeneratorImpl::WarpGeneratorImpl(const MegaPortraitsConfig& c) : config_(c) {
  constant_ = register_parameter(
      "constant", torch::randn({1, c.warp_channels, c.warp_depth, c.warp_size, c.warp_size}) * 0.1);
  modulation_ = register_module("modulation", torch::nn::Linear(c.expression_dim + c.descriptor_dim, 2 * c.warp_channels));
  up_ = register_module("up", torch::nn::ModuleList());
  int in = c.warp_channels;
  for (int out : c.warp_up) up_->push_back(ResBlock3D(in, out, true)), in = out;
  out_ = register_module("out", torch::nn::Conv3d(conv3d(in, 3, 3)));
  torch::NoGradGuard no_grad;
  out_->weight.zero_();
  out_->bias.zero_();
}

torch::Tensor WarpGeneratorImpl::forward(const torch::Tensor& expression, const torch::Tensor& descriptor, int64_t d,
                                         int64_t h, int64_t w) {
  auto gb = modulation_(torch::cat({expression, descriptor}, 1)).chunk(2, 1);
  auto gamma = gb[0].reshape({gb[0].size(0), -1, 1, 1, 1});
  auto beta = gb[1].reshape({gb[1].size(0), -1, 1, 1, 1});
  auto x = constant_ * (1 + gamma) + beta;
  for (auto& m : *up_) x = m->as<ResBlock3DImpl>()->forward(x);
  auto delta = out_(hswish(x));  // [N,3,D,H,W]
  if (delta.size(2) != d || delta.size(3) != h || delta.size(4) != w)
    delta = F::interpolate(delta, F::InterpolateFuncOptions()
                                      .size(std::vector<int64_t>{d, h, w})
                                      .mode(torch::kTrilinear)
                                      .align_corners(true));
  return delta.permute({0, 2, 3, 4, 1});
}

int64_t WarpGeneratorImpl::macs() const { return warp_macs(config_); }

torch::Tensor rotation_matrix(const torch::Tensor& angles) {
  TORCH_CHECK(angles.dim() == 2 && angles.size(1) == 3, "rotation_matrix: expected [N,3] angles");
  auto yaw = angles.select(1, 0), pitch = angles.select(1, 1), roll = angles.select(1, 2);
  auto one = torch::ones_like(yaw), zero = torch::zeros_like(yaw);
  auto m = [](std::vector<torch::Tensor> e) { return torch::stack(e, 1).reshape({-1, 3, 3}); };
  auto cy = yaw.cos(), sy = yaw.sin(), cp = pitch.cos(), sp = pitch.sin(), cr = roll.cos(), sr = roll.sin();
  auto ry = m({cy, zero, sy, zero, one, zero, -sy, zero, cy});
  auto rx = m({one, zero, zero, zero, cp, -sp, zero, sp, cp});
  auto rz = m({cr, -sr, zero, sr, cr, zero, zero, zero, one});
  return ry.bmm(rx).bmm(rz);
}

torch::Tensor identity_grid(int64_t d, int64_t h, int64_t w, const torch::TensorOptions& options) {
  auto z = torch::linspace(-1, 1, d, options), y = torch::linspace(-1, 1, h, options),
       x = torch::linspace(-1, 1, w, options);
  auto g = torch::meshgrid({z, y, x}, "ij");
  return torch::stack({g[2], g[1], g[0]}, -1);
}

torch::Tensor warp_grid(const torch::Tensor& rotation, const torch::Tensor& translation, bool inverse, int64_t d,
                        int64_t h, int64_t w, const torch::Tensor& deformation) {
  auto r = rotation_matrix(rotation);
  auto t = translation.unsqueeze(1);  // [N,1,3]
  auto p = identity_grid(d, h, w, rotation.options()).reshape({1, -1, 3});
  // Row vectors: (R p)^T = p^T R^T; (R^T (p - t))^T = (p - t)^T R.
  auto q = inverse ? (p - t).matmul(r) : p.matmul(r.transpose(1, 2)) + t;
  q = q.reshape({r.size(0), d, h, w, 3});
  return deformation.defined() ? q + deformation : q;
}

torch::Tensor warp_volume(const torch::Tensor& volume, const torch::Tensor& grid) {
  // interpolation_mode 0 = bilinear (trilinear for 5-D), padding_mode 0 = zeros.
  return torch::grid_sampler(volume, grid, /*interpolation_mode=*/0, /*padding_mode=*/0, /*align_corners=*/true);
}

// ---------------------------------------------------------------- front

MegaPortraitsFrontImpl::MegaPortraitsFrontImpl(MegaPortraitsConfig c) : config_(std::move(c)) {
  appearance_ = register_module("appearance", AppearanceEncoder(config_));
  motion_ = register_module("motion", MotionEncoder(config_));
  warp_source_ = register_module("warp_source", WarpGenerator(config_));
  warp_driver_ = register_module("warp_driver", WarpGenerator(config_));
  g3d_ = register_module("g3d", torch::nn::ModuleList());
  for (int k = 0; k < config_.g3d_blocks; ++k)
    g3d_->push_back(ResBlock3D(config_.volume_channels, config_.volume_channels, false));
  projection_ =
      register_module("projection", torch::nn::Conv2d(conv2d(config_.lift_channels(), config_.g2d_channels, 1)));
}

SourceState MegaPortraitsFrontImpl::encode_source(const torch::Tensor& source) {
  return encode_source(source, motion_(source));
}

SourceState MegaPortraitsFrontImpl::encode_source(const torch::Tensor& source, const MotionParams& source_motion) {
  SourceState s{appearance_(source), source_motion, {}};
  const auto& v = s.appearance.volume;
  const int64_t d = v.size(2), h = v.size(3), w = v.size(4);
  // Source -> canonical: v_c(p) = v_s(R_s p + t_s + W_s(z_s, e_s)(p)).
  auto delta_s = warp_source_(s.motion.expression, s.appearance.descriptor, d, h, w);
  auto vc = warp_volume(v, warp_grid(s.motion.rotation, s.motion.translation, false, d, h, w, delta_s));
  for (auto& m : *g3d_) vc = m->as<ResBlock3DImpl>()->forward(vc);
  s.canonical = vc;
  return s;
}

torch::Tensor MegaPortraitsFrontImpl::drive(const SourceState& s, const MotionParams& driver) {
  const auto& vc = s.canonical;
  const int64_t n = vc.size(0), c = vc.size(1), d = vc.size(2), h = vc.size(3), w = vc.size(4);
  // Canonical -> driver: v_d(p) = v_c(R_d^T (p - t_d) + W_d(z_d, e_s)(p)).
  auto delta_d = warp_driver_(driver.expression, s.appearance.descriptor, d, h, w);
  auto vd = warp_volume(vc, warp_grid(driver.rotation, driver.translation, true, d, h, w, delta_d));
  last_driver_volume = vd;
  return projection_(torch::relu(vd.reshape({n, c * d, h, w})));
}

torch::Tensor MegaPortraitsFrontImpl::forward(const torch::Tensor& source, const torch::Tensor& driver) {
  return drive(encode_source(source), motion_(driver));
}

torch::Tensor MegaPortraitsFrontImpl::forward(const torch::Tensor& source, const MotionParams& driver) {
  return drive(encode_source(source), driver);
}

MegaPortraitsMacs MegaPortraitsFrontImpl::macs(int64_t h, int64_t w) const { return megaportraits_macs(config_, h, w); }

MegaPortraitsMacs megaportraits_macs(const MegaPortraitsConfig& c, int64_t h, int64_t w) {
  MegaPortraitsMacs m;
  m.appearance = appearance_macs(c, h, w);
  m.motion = motion_macs(c);
  m.warp_source = m.warp_driver = warp_macs(c);
  const int64_t vh = h >> c.app_down.size(), vw = w >> c.app_down.size();
  for (int k = 0; k < c.g3d_blocks; ++k)
    m.g3d += res3d_macs(c.volume_channels, c.volume_channels, false, c.volume_depth, vh, vw);
  m.projection = conv_macs(c.lift_channels(), c.g2d_channels, 1, vh, vw);
  return m;
}

double megaportraits_front_gflops_paper() {
  return static_cast<double>(megaportraits_macs(MegaPortraitsConfig::paper(), 512, 512).total()) / 1e9;
}

}  // namespace fiancee::models
