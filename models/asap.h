// ASAP-Net (Shaham et al., CVPR 2021: "Spatially-Adaptive Pixelwise Networks
// for Fast Image Translation") as a FIANCEE early-exit graph for
// label-map-to-image synthesis.
//
// A convolutional low-resolution network reads the one-hot label map and
// predicts, for every cell of a grid S times coarser than the image, the
// weights and biases of a small pixelwise MLP; every full-resolution pixel is
// then rendered by the MLP of its cell from its own label vector and a
// sinusoidal encoding of its position inside the cell.
//
// Exit graph (our mapping; docs/flops-asap-creps.md):
//   front  = optional bilinear pre-downsampling + C{w0}S1 + the stride-2 convs
//            (the last one is the C1024S2 of the paper);
//   stages = the C1024S1 layers, one stage each;
//   head   = the 1x1 weight-prediction conv + the full pixelwise MLP
//            (fc64 x4 - fc3);
//   branch = a 3x3 "adapter" conv (width scaled by the scale factor) on the
//            features after its attach point, its own 1x1 weight-prediction
//            conv, and a shorter and/or narrower pixelwise MLP.
// The full-resolution label map travels with the low-res features: front()
// returns [N, W + classes*S*S, H/S, W/S], the features followed by the
// label map rearranged so that channel block (c, sy, sx) of cell (i, j) is
// label c at pixel (i*S + sy, j*S + sx). Stages only touch the first W
// channels; head and branches read the labels from the rest. Every frame's
// data is in its own batch row, so the engine can split batches freely.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/exit_graph.h"
#include "models/branched_graph.h"
#include "core/safetensors.h"

namespace torch::nn {
class Module;
}

namespace fiancee::models {

// One early exit of one scale factor.
struct AsapBranchSpec {
  int adapter = 0;     // output width of the branch's 3x3 conv = input width of its weight-prediction conv
  int mlp_width = 0;   // hidden width of its pixelwise MLP
  int mlp_hidden = 0;  // hidden fc layers (the fc3 output layer comes on top)
};

struct AsapConfig {
  int num_classes = 35;         // one-hot label channels: the input of both networks
  int extra_lr_channels = 0;    // input channels only the low-res network reads (Cityscapes: instance edges)
  int input_downsample = 1;     // bilinear (tent) pre-downsampling of the input before the low-res network, power of 2
  std::vector<int> lr_channels; // front convs: the first has stride 1, every later one stride 2
  int num_stages = 6;           // C{lr_width}S1 layers after the front
  int mlp_width = 64;           // backbone pixelwise MLP: fc{mlp_width} x mlp_hidden - fc{out_channels}
  int mlp_hidden = 4;
  int out_channels = 3;
  int guide_channels = 0;       // guide tensor channels concatenated to every branch adapter input (resized to the grid)
  int key_dim = 0;              // predictor's extra key input
  int predictor_grid = 2;       // front features pooled to grid x grid before the predictor MLP
  std::vector<int> predictor_hidden;
  int min_adapter_channels = 64;  // scaled widths never go below these
  int min_mlp_channels = 16;
  std::vector<int> attach_points;     // stage after which each branch attaches (shared by all scale factors)
  std::vector<int> branch_mlp_hidden; // hidden layers of each branch's MLP, used by add_scale_factor
  std::vector<std::pair<std::string, std::vector<AsapBranchSpec>>> branches;  // [sf][branch], manifest order

  int input_channels() const { return num_classes + extra_lr_channels; }
  int lr_width() const { return lr_channels.back(); }
  // Total downsampling S: image pixels per grid cell along each axis.
  int downsampling() const;
  // Positional encoding channels: cos/sin of x and y for periods S, S/2, ..., 2 pixels.
  int pe_channels() const;
  int mlp_in() const { return num_classes + pe_channels(); }
  // Per-cell parameter count (weights + biases) of a pixelwise MLP: C_total of the supplement, Sec. 1.3.
  int64_t mlp_params(int width, int hidden) const;
  // Multiply-accumulates per pixel of a pixelwise MLP.
  int64_t mlp_macs_per_pixel(int width, int hidden) const;

  // Branches at attach_points with branch_mlp_hidden layers, MLP width and
  // adapter width scaled by the factor (never below the minimums).
  void add_scale_factor(const std::string& scale_factor);
  // Throws PackageError naming origin when the sizes do not fit together.
  void validate(const std::string& origin) const;

  // The Cityscapes model of the official release (256x512 output, 35 classes
  // + instance edges): C64S1 - C64S2 x3 - C1024S2 - C1024S1 x7, 1x1 conv to
  // C_total, fc64 x4 - fc3 on labels + 16 positional channels, S = 16, no
  // pre-downsampling. Branches after stages 1, 3, 5 with 2, 3, 4 hidden
  // layers, for each of `scale_factors` (default "1/2", "1/4").
  static AsapConfig paper(const std::vector<std::string>& scale_factors = {"1/2", "1/4"});
  // The low-res network exactly as the supplement's Sec. 1.2 lists it:
  // C64S1 - C64S2 x4 - C1024S2 - C1024S1 x6 (S = 32 at full-resolution
  // input). Kept for the FLOP comparison in docs/flops-asap-creps.md.
  static AsapConfig paper_as_listed(const std::vector<std::string>& scale_factors = {"1/2", "1/4"});
  // A few-thousand-parameter model for tests: 5 classes, S = 4, 4 stages,
  // 3 branches per scale factor ("1/2").
  static AsapConfig tiny(const std::vector<std::string>& scale_factors = {"1/2"});

  static AsapConfig from_json(const nlohmann::json& j, const std::string& origin);
  nlohmann::json to_json() const;
};

class AsapGraph : public BranchedGraph {
 public:
  explicit AsapGraph(AsapConfig config);
  ~AsapGraph() override;

  int num_stages() const override;
  int num_branches() const override;
  int attach_point(int branch) const override;
  // input: [N, num_classes + extra_lr_channels, H, W], H and W multiples of S.
  torch::Tensor front(const torch::Tensor& input) override;
  torch::Tensor stage(int k, const torch::Tensor& x) override;
  torch::Tensor head(const torch::Tensor& x) override;
  torch::Tensor branch(const std::string& scale_factor, int b, const torch::Tensor& x, const torch::Tensor& guide) override;
  torch::Tensor predict(const std::string& scale_factor, const torch::Tensor& front_features, const torch::Tensor& key) override;

  const AsapConfig& config() const { return config_; }
  // GFLOPs (1 multiply-accumulate = 1 FLOP) of every route for an h x w
  // label map, backbone last. Counted: convolutions (incl. the 1x1
  // weight-prediction convs) and the pixelwise MLPs' matrix products.
  // Not counted: norms, activations, biases, pre-downsampling, the predictor.
  std::vector<double> route_gflops(const std::string& scale_factor, int64_t h, int64_t w) const;
  // The backbone's MACs layer by layer, for `fiancee flops` and the docs.
  std::vector<std::pair<std::string, int64_t>> backbone_macs(int64_t h, int64_t w) const;



 private:
  struct Impl;
  AsapConfig config_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fiancee::models
