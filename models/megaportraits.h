// The MegaPortraits (Drobyshev et al. 2022) front of the reenactor: the
// modules that turn a source image and a driver's motion into the 512-channel
// feature map the existing G2D renderer (models/g2d.h) consumes.
//
//   source image --E_app--> appearance volume v_s [N,C3d,D,h,w] + descriptor e_s
//   image --E_mtn--> rotation (yaw, pitch, roll), translation, expression z
//   v_s --warp(source->canonical: rigid_s^-1 + W_s(z_s, e_s))--> v_c
//   v_c --G3D--> v_c'
//   v_c' --warp(canonical->driver: rigid_d + W_d(z_d, e_s))--> v_d
//   v_d --reshape [N,C3d*D,h,w], 1x1 conv--> [N,512,h,w]   (G2D input)
//
// Sizes are configurable (MegaPortraitsConfig::paper / ::tiny). Everything
// beyond "96 x 16 x 64 x 64 volume from a 1536-channel reshape, 512-d
// expression, 3 angles" is our guess at the published architecture; see
// docs/megaportraits.md.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <vector>

namespace fiancee::models {

// MACs of a k x k x k 3D convolution producing an out_d x out_h x out_w volume.
inline int64_t conv3d_macs(int64_t in, int64_t out, int64_t k, int64_t out_d, int64_t out_h, int64_t out_w) {
  return in * out * k * k * k * out_d * out_h * out_w;
}

struct MegaPortraitsConfig {
  int image_size = 512;                 // nominal source/driver resolution
  // Appearance encoder E_app.
  int app_stem = 64;                    // k x k conv, stride 1
  int app_stem_kernel = 7;
  std::vector<int> app_down = {128, 256, 512};  // ResBlockDown2D widths, each halves h, w
  int volume_channels = 96;             // C3d
  int volume_depth = 16;                // D; the lift conv outputs C3d * D channels
  int app_blocks3d = 6;                 // ResBlock3D (C3d -> C3d) after the reshape
  int descriptor_dim = 512;             // e_s
  // Motion encoder E_mtn (input resized to motion_size).
  int motion_size = 256;
  int motion_stem = 64;                 // k x k conv, stride 2
  int motion_stem_kernel = 7;
  std::vector<int> motion_down = {128, 256, 512, 512};
  int expression_dim = 512;             // z
  // Warping generators W (one source->canonical, one canonical->driver).
  int warp_channels = 256;              // learned constant [warp_channels, warp_depth, warp_size, warp_size]
  int warp_depth = 4;
  int warp_size = 16;
  std::vector<int> warp_up = {128, 64}; // ResBlock3D widths, each doubles D, h, w
  // G3D between the warps.
  int g3d_blocks = 2;
  // Projection to the G2D input.
  int g2d_channels = 512;

  int volume_size(int image) const { return image >> static_cast<int>(app_down.size()); }
  int lift_channels() const { return volume_channels * volume_depth; }

  // Paper scale: 512x512 input -> 96 x 16 x 64 x 64 volume -> 512 x 64 x 64.
  static MegaPortraitsConfig paper();
  // Test scale: 32x32 input -> 4 x 4 x 8 x 8 volume -> 32 x 8 x 8.
  static MegaPortraitsConfig tiny();
};

// BN, h-swish, conv3x3 (in->out), 2x avg-pool, BN, h-swish, conv3x3 (out->out),
// plus avg-pool + 1x1 conv on the skip path. Halves h and w.
class ResBlockDown2DImpl : public torch::nn::Module {
 public:
  ResBlockDown2DImpl(int in, int out);
  torch::Tensor forward(torch::Tensor x);
  int64_t macs(int64_t h, int64_t w) const;  // for an h x w input

 private:
  int in_, out_;
  torch::nn::BatchNorm2d norm1_{nullptr}, norm2_{nullptr};
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, skip_{nullptr};
};
TORCH_MODULE(ResBlockDown2D);

// BN3d, h-swish, conv3x3x3, BN3d, h-swish, conv3x3x3, skip (1x1x1 conv when
// in != out, else identity); optional 2x trilinear upsampling first.
class ResBlock3DImpl : public torch::nn::Module {
 public:
  ResBlock3DImpl(int in, int out, bool upsample);
  torch::Tensor forward(torch::Tensor x);
  int64_t macs(int64_t d, int64_t h, int64_t w) const;  // for a d x h x w input (before upsampling)

 private:
  int in_, out_;
  bool upsample_;
  torch::nn::BatchNorm3d norm1_{nullptr}, norm2_{nullptr};
  torch::nn::Conv3d conv1_{nullptr}, conv2_{nullptr}, skip_{nullptr};
};
TORCH_MODULE(ResBlock3D);

struct AppearanceOutput {
  torch::Tensor volume;      // v_s [N, C3d, D, h, w]
  torch::Tensor descriptor;  // e_s [N, descriptor_dim]
};

// Head motion. Angles are radians; translation is in the volume's normalized
// [-1, 1] coordinates (x = width, y = height, z = depth).
struct MotionParams {
  torch::Tensor rotation;     // [N, 3] yaw, pitch, roll
  torch::Tensor translation;  // [N, 3]
  torch::Tensor expression;   // [N, expression_dim]
};

class AppearanceEncoderImpl : public torch::nn::Module {
 public:
  explicit AppearanceEncoderImpl(const MegaPortraitsConfig& config);
  AppearanceOutput forward(const torch::Tensor& image);  // [N,3,H,W]
  int64_t macs(int64_t h, int64_t w) const;

 private:
  MegaPortraitsConfig config_;
  torch::nn::Conv2d stem_{nullptr}, lift_{nullptr};
  torch::nn::ModuleList down_{nullptr}, blocks3d_{nullptr};
  torch::nn::Linear descriptor_{nullptr};
};
TORCH_MODULE(AppearanceEncoder);

class MotionEncoderImpl : public torch::nn::Module {
 public:
  explicit MotionEncoderImpl(const MegaPortraitsConfig& config);
  MotionParams forward(const torch::Tensor& image);  // [N,3,H,W], resized to motion_size
  int64_t macs() const;

 private:
  MegaPortraitsConfig config_;
  torch::nn::Conv2d stem_{nullptr};
  torch::nn::ModuleList down_{nullptr};
  torch::nn::Linear rotation_{nullptr}, translation_{nullptr}, expression_{nullptr};
};
TORCH_MODULE(MotionEncoder);

// W: (z, e_s) -> per-channel modulation of a learned constant volume, ResBlock3D
// upsampling, conv3x3x3 to a deformation field [N, D, h, w, 3] in normalized
// coordinates (x, y, z). The last conv starts at zero, so an untrained W
// predicts no deformation.
class WarpGeneratorImpl : public torch::nn::Module {
 public:
  explicit WarpGeneratorImpl(const MegaPortraitsConfig& config);
  // Deformation resampled (trilinear) to d x h x w when that differs from W's own grid.
  torch::Tensor forward(const torch::Tensor& expression, const torch::Tensor& descriptor, int64_t d, int64_t h,
                        int64_t w);
  int64_t macs() const;

 private:
  MegaPortraitsConfig config_;
  torch::Tensor constant_;
  torch::nn::Linear modulation_{nullptr};
  torch::nn::ModuleList up_{nullptr};
  torch::nn::Conv3d out_{nullptr};
};
TORCH_MODULE(WarpGenerator);

// --- Warping helpers (all with align_corners = true: -1 and 1 are the centres
// of the first and last voxels, so an identity grid reproduces the input). ---

// [N,3] (yaw about y, pitch about x, roll about z; radians) -> [N,3,3] = Ry * Rx * Rz.
torch::Tensor rotation_matrix(const torch::Tensor& angles);
// [D,H,W,3] of (x, y, z) voxel-centre coordinates in [-1, 1].
torch::Tensor identity_grid(int64_t d, int64_t h, int64_t w, const torch::TensorOptions& options);
// Sampling grid [N,D,H,W,3]: at each output point p, R p + t (inverse = false)
// or R^T (p - t) (inverse = true), plus the deformation [N,D,H,W,3] if defined.
torch::Tensor warp_grid(const torch::Tensor& rotation, const torch::Tensor& translation, bool inverse, int64_t d,
                        int64_t h, int64_t w, const torch::Tensor& deformation = {});
// Trilinear grid sampling of a volume [N,C,D,H,W] at grid [N,D',H',W',3]
// (torch::grid_sampler, zeros outside, align_corners = true).
torch::Tensor warp_volume(const torch::Tensor& volume, const torch::Tensor& grid);

// What drive() needs from the source, computed once per source.
// The canonical volume depends on the source only (MegaPortraits' warps to and
// from the canonical space), so G3D also runs once per source.
struct SourceState {
  AppearanceOutput appearance;
  MotionParams motion;
  torch::Tensor canonical;  // after the source->canonical warp and G3D, [N,C3d,D,h,w]
};

// MACs of every part of the front for an h x w source/driver.
struct MegaPortraitsMacs {
  int64_t appearance = 0;   // E_app (once per source)
  int64_t motion = 0;       // E_mtn, one image
  int64_t warp_source = 0;  // W_s->c
  int64_t warp_driver = 0;  // W_c->d
  int64_t g3d = 0;
  int64_t projection = 0;
  // E_app + 2 x E_mtn (source and driver) + both W + G3D + projection.
  int64_t total() const { return appearance + 2 * motion + warp_source + warp_driver + g3d + projection; }
  // Per driver frame with a cached SourceState and the motion supplied by the key.
  int64_t per_frame_cached() const { return warp_driver + projection; }
};

class MegaPortraitsFrontImpl : public torch::nn::Module {
 public:
  explicit MegaPortraitsFrontImpl(MegaPortraitsConfig config);

  // Source image -> volume, descriptor, source motion (from E_mtn unless
  // given), canonical volume (source->canonical warp, G3D).
  SourceState encode_source(const torch::Tensor& source);
  SourceState encode_source(const torch::Tensor& source, const MotionParams& source_motion);
  MotionParams encode_motion(const torch::Tensor& image) { return motion_(image); }

  // Canonical->driver warp, projection: [N, g2d_channels, h, w].
  torch::Tensor drive(const SourceState& source, const MotionParams& driver);
  // Both images through the encoders.
  torch::Tensor forward(const torch::Tensor& source, const torch::Tensor& driver);
  // Driver motion supplied (e.g. from the landmark key); E_mtn runs on the source only.
  torch::Tensor forward(const torch::Tensor& source, const MotionParams& driver);

  // The driver volume of the last drive() (for tests and debugging).
  torch::Tensor last_driver_volume;

  MegaPortraitsMacs macs(int64_t h, int64_t w) const;
  const MegaPortraitsConfig& config() const { return config_; }

 private:
  MegaPortraitsConfig config_;
  AppearanceEncoder appearance_{nullptr};
  MotionEncoder motion_{nullptr};
  WarpGenerator warp_source_{nullptr}, warp_driver_{nullptr};
  torch::nn::ModuleList g3d_{nullptr};
  torch::nn::Conv2d projection_{nullptr};
};
TORCH_MODULE(MegaPortraitsFront);

// MACs without building the modules.
MegaPortraitsMacs megaportraits_macs(const MegaPortraitsConfig& config, int64_t h, int64_t w);
// The whole front (MegaPortraitsMacs::total) at paper scale, 512x512, in GFLOPs (1 MAC = 1 FLOP).
double megaportraits_front_gflops_paper();

}  // namespace fiancee::models
