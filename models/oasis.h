// The OASIS generator (Sushko et al., ICLR 2021) as a FIANCEE early-exit graph
// (FIANCEE Sec. 4.1, Tables 1, S7, S8).
//
// Backbone: the input (3D noise [z_dim] and one-hot label map [num_classes],
// concatenated in that order as OASIS does, at the output resolution) is
// resized (nearest) to H/32 x W/32, a 3x3 conv maps it to channels[0], then
// SPADE-ResBlocks i = 1..6 map channels[i-1] -> channels[i], with a 2x
// nearest upsampling between consecutive blocks, and the head (LeakyReLU 0.2,
// conv3x3 to RGB, tanh). Every SPADE is conditioned on the same noise+label
// map resized (nearest) to its block's resolution.
//
// Exit graph: front = first conv + block 1 (its output, channels[1] x H/32 x
// W/32, is what the database keys and the predictor read); stage k (1..5) =
// upsample + block k+1; head = final conv. Branch b attaches after
// attach_points[b] (0 = on the front) and is a chain of narrower
// SPADE-ResBlocks replacing the remaining backbone blocks (each preceded by
// the same upsampling), then its own LeakyReLU + conv3x3 + tanh.
//
// The noise+label conditioning travels with the features: the tensors passed
// between front, stages, branches and head are
//   cat(features [N,C,h,w], pixel_unshuffle(conditioning [N,L,H,W], H/h)) along dim 1
// so the engine's per-frame row selection keeps each frame's map with its
// features. OasisGraph::features() / conditioning() split such a tensor.
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

struct OasisConfig {
  int num_classes = 35;              // Cityscapes: 34 labels + "unlabeled"/don't-care, as OASIS's semantic_nc
  int z_dim = 64;                    // 3D noise channels
  int height = 256;                  // output (and input label map) size; divisible by 2^(blocks-1)
  int width = 512;
  std::vector<int> channels;         // first conv width, then each block's output: 1024,1024,1024,512,256,128,64
  int spade_hidden = 128;            // SPADE's shared conv width
  std::string norm = "batch";        // SPADE's parameter-free norm: "batch" (OASIS: sync BN, affine off) or "instance"
  std::vector<int> attach_points;    // stage after which each branch attaches (0 = front)
  int guide_channels = 0;            // retrieved value features' channels (512 in the paper); 0 = no database
  int min_channels = 64;             // used by add_scale_factor
  int predictor_channels = 512;      // Table S7: conv(1024 -> 512) + ReLU, ResBlock(512)
  int predictor_grid_h = 3;          // conv output grid flattened into the MLP (512 x 3 x 7 = 10752)
  int predictor_grid_w = 7;
  std::vector<int> predictor_hidden; // 4096, 1024, 512, 128
  // Output width of every branch block, per scale factor in manifest order: [sf][branch][block].
  std::vector<std::pair<std::string, std::vector<std::vector<int>>>> branches;

  int num_blocks() const { return static_cast<int>(channels.size()) - 1; }
  int label_channels() const { return num_classes + z_dim; }
  int start_height() const { return height >> (num_blocks() - 1); }  // H/32 for 6 blocks
  int start_width() const { return width >> (num_blocks() - 1); }
  int front_out() const { return channels.at(1); }
  int attach_width(int branch) const { return channels.at(attach_points.at(branch) + 1); }
  // Guide: value features are mapped by a 1x1 conv to half the branch input width and
  // concatenated to the first branch block's input (x1.5 input channels, Table S8).
  int guide_width(int branch) const { return guide_channels > 0 ? attach_width(branch) / 2 : 0; }
  const std::vector<std::vector<int>>& branch_widths(const std::string& scale_factor) const;  // InputError if absent

  // Branches mirroring the backbone after each attach point, widths scaled by
  // the factor (floor, never below min_channels).
  void add_scale_factor(const std::string& scale_factor);

  // The paper's Cityscapes generator at 256x512 (channels_G = 64), 35 label
  // channels, branches after blocks 1-4 with Table S8's widths for any of
  // "1/2", "1/3", "1/4" (min 64 channels), guide = 512-channel value features.
  static OasisConfig paper(const std::vector<std::string>& scale_factors, bool guide);
  // The paper's config with every width divided by `divisor` (at least 1), the
  // noise too, at a smaller output (height x width, divisible by 32): test and demo sizes.
  static OasisConfig scaled(int divisor, int height, int width, const std::vector<std::string>& scale_factors, bool guide,
                            int num_classes = 35);

  // Strict: every field present and valid, no unknown field; PackageError names origin and field.
  static OasisConfig from_json(const nlohmann::json& j, const std::string& origin);
  nlohmann::json to_json() const;

  // Cost accounting (1 MAC = 1 FLOP; convolutions and linear layers only, SPADE's
  // three convs included; norms, activations, upsampling and the guide's resize not counted).
  int64_t first_conv_macs(int64_t height, int64_t width) const;
  // GFLOPs of every route for an output of height x width, backbone last.
  std::vector<double> route_gflops(const std::string& scale_factor, int64_t height, int64_t width,
                                   bool count_spade = true) const;
  double predictor_gflops() const;
  // Parameter counts (weights + biases; the norms have none), from the config alone.
  int64_t backbone_parameters() const;
  int64_t branch_parameters(const std::string& scale_factor) const;  // all branches of one factor, guide convs included
  int64_t predictor_parameters() const;
};

// MACs of one SPADE-ResBlock at h x w (its input already upsampled): conv_0 fin->min(fin,fout),
// conv_1 -> fout, the learned 1x1 shortcut when fin != fout, and per SPADE (2, or 3 with the
// shortcut) the shared conv label_channels->hidden and the gamma and beta convs hidden->norm width.
int64_t spade_resblock_macs(int64_t fin, int64_t fout, int64_t label_channels, int64_t hidden, int64_t h, int64_t w,
                            bool count_spade = true);

// OASIS's input: noise z [N,z_dim] broadcast over the map, then the one-hot of
// labels [N,H,W] (int64 class ids in [0, num_classes)). Returns [N, z_dim + num_classes, H, W] float.
torch::Tensor oasis_input(const torch::Tensor& labels, const torch::Tensor& z, int num_classes);

// Database helpers (FIANCEE Sec. 4.1): cut a feature map [N,C,H,W] into a grid_h x grid_w grid of
// patches -> [N*grid_h*grid_w, C, H/grid_h, W/grid_w] (row-major per frame); glue them back.
// Keys: cut the front features (1024 x 8 x 16) into 8 x 16 patches and flatten (1024-d).
// Values: cut block 3's output (512 x 32 x 64) into the same grid (512 x 4 x 4 each).
torch::Tensor cut_patches(const torch::Tensor& features, int64_t grid_h, int64_t grid_w);
torch::Tensor glue_patches(const torch::Tensor& patches, int64_t grid_h, int64_t grid_w);

class OasisGraph : public BranchedGraph {
 public:
  explicit OasisGraph(OasisConfig config);
  ~OasisGraph() override;

  int num_stages() const override;
  int num_branches() const override;
  int attach_point(int branch) const override;
  // input: [N, z_dim + num_classes, height, width], see oasis_input().
  torch::Tensor front(const torch::Tensor& input) override;
  torch::Tensor stage(int k, const torch::Tensor& x) override;
  torch::Tensor head(const torch::Tensor& x) override;
  // guide: value features [N, guide_channels, h, w] (any h, w: resized bilinearly to the first
  // branch block's resolution), or undefined = zeros. Ignored when the config has no guide.
  torch::Tensor branch(const std::string& scale_factor, int b, const torch::Tensor& x, const torch::Tensor& guide) override;
  // Table S7's OASIS predictor on the front features (key unused): [N, num_branches].
  torch::Tensor predict(const std::string& scale_factor, const torch::Tensor& front_features, const torch::Tensor& key) override;

  // The paper's patch guide database. A patch is one cell of the front's
  // feature grid (H/32 x W/32); its key is the front feature vector there, its
  // class the majority label of its pixels, its value the block-3 features
  // (stage 2's output, guide_channels wide) over the same cell.
  GuideQuery guide_query(const torch::Tensor& front_out) override;
  // values [N*cells, guide_channels, ph, pw] (any float type) -> glued [N, guide_channels, H/8, W/8].
  torch::Tensor guide_from_values(const torch::Tensor& values, int64_t frames) override;
  // Database entries of frames: front_out and stage 2's output of the same frames.
  struct GuideEntries {
    torch::Tensor keys, labels, values;
  };
  GuideEntries guide_entries(const torch::Tensor& front_out, const torch::Tensor& stage2_out);

  // Split a tensor passed between the parts into the features and the full-resolution conditioning.
  torch::Tensor features(const torch::Tensor& x) const;
  torch::Tensor conditioning(const torch::Tensor& x) const;

  const OasisConfig& config() const { return config_; }
  std::vector<double> route_gflops(const std::string& scale_factor) const {
    return config_.route_gflops(scale_factor, config_.height, config_.width);
  }
  std::vector<double> route_gflops(const std::string& scale_factor, int64_t height, int64_t width) const {
    return config_.route_gflops(scale_factor, height, width);
  }

  // Backbone names follow OASIS's generator state dict (fc, body.i.conv_0, body.i.norm_0.mlp_shared.0,
  // ..., conv_img) once spectral norm is folded into the weights.


 private:
  struct Impl;
  OasisConfig config_;
  std::unique_ptr<Impl> impl_;
};

// Multi-scale PatchGAN discriminator (pix2pixHD / SPADE style) for branch
// training: at each scale (the input average-pooled by 2 between scales) a
// conditional PatchGAN sees cat(image, label map). Not used by the engine.
// This is not OASIS's U-Net segmentation discriminator: its outputs are real/
// fake patch logits (hinge or LSGAN loss), and its features serve feature matching.
struct OasisDiscriminatorConfig {
  int image_channels = 3;
  int label_channels = 35;   // one-hot label map concatenated to the image (0 = unconditional)
  int base_channels = 64;
  int max_channels = 512;
  int layers = 4;            // 4x4 convs: layers-1 with stride 2, then stride 1, then the 1-channel output conv
  int scales = 2;
};

struct DiscriminatorScale {
  std::vector<torch::Tensor> features;  // every layer's activation before the output conv
  torch::Tensor output;                 // [N,1,h,w] patch logits
};

class OasisDiscriminator {
 public:
  explicit OasisDiscriminator(OasisDiscriminatorConfig config = {});
  ~OasisDiscriminator();
  // image [N,image_channels,H,W], labels [N,label_channels,H,W] (undefined when label_channels == 0).
  std::vector<DiscriminatorScale> forward(const torch::Tensor& image, const torch::Tensor& labels);
  torch::nn::Module& module();
  const OasisDiscriminatorConfig& config() const { return config_; }
  safetensors::TensorMap state() const;
  void load(const safetensors::TensorMap& tensors, const std::string& origin);

 private:
  struct Impl;
  OasisDiscriminatorConfig config_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fiancee::models
