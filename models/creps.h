// CREPS (Nguyen et al., CVPR 2023: "Efficient Scale-Invariant Generator with
// Column-Row Entangled Pixel Synthesis") as a FIANCEE early-exit graph.
//
// A mapping MLP turns the latent z into the style w. The image is never
// convolved: every layer works either on two feature *lines* (a row line
// indexed by the y coordinate and a column line indexed by x, each holding
// `rank` entries per position) or per pixel, so a pixel's value depends only
// on its continuous coordinates and w, and the same latent renders at any
// output size. Coordinates are pixel centres normalised to (0, 1):
// u_i = (i + 0.5) / size.
//   - line synthesis: Fourier features sin/cos(2*pi*f*u) of the coordinates,
//     modulated by w (the supplement's SynthesisInput);
//   - synthesis blocks: modulated fully connected (1x1) layers with weight
//     demodulation on the lines, no noise, each adding a 32-channel "ToRes"
//     output to the accumulated bi-line residual;
//   - after every block the residual is fused into a 2D map,
//     F[c, y, x] = sum_k row[c, y, k] * col[c, x, k] / 2, and added to the
//     running 2D feature passed through a decoder MLP 32-64-128-64-32
//     (supplement Table 2);
//   - head: a last decoder, a linear layer to RGB, and the refinement block
//     of Table 1 (two modulated per-pixel synthesis blocks 32->128 and
//     128->64, each adding an RGB residual).
//
// Exit graph (our mapping; docs/flops-asap-creps.md): front = mapping +
// line synthesis; stages = synthesis blocks (block, fusion, decoder); head =
// last decoder + to-RGB + refinement; branch = a narrower decoder, to-RGB and
// refinement on the 2D feature after an earlier block. The state passed
// between stages is one flat tensor per frame: [H, W, w, lines, residual,
// 2D feature], so the engine can split batches and the output size travels
// with the frame.
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

// A per-pixel renderer: decoder MLP 32-hidden...-32, linear to RGB, refinement blocks.
struct CrepsBranchSpec {
  std::vector<int> decoder_hidden;  // hidden widths of the decoder (backbone: 64, 128, 64)
  std::vector<int> refine;          // widths of the refinement synthesis blocks (backbone: 128, 64)
};

struct CrepsConfig {
  int z_dim = 512;
  int w_dim = 512;
  int mapping_layers = 8;
  double mapping_lr_multiplier = 0.01;
  std::vector<int> block_channels;  // synthesis block widths; block 1 reads line features of its own width
  int rank = 8;                     // d: entries per line position (rows and columns each)
  double bandwidth = 10;            // std of the Fourier frequencies, in cycles per image side
  int biline_channels = 32;
  std::vector<int> decoder_hidden{64, 128, 64};
  std::vector<int> refine_channels{128, 64};
  int out_channels = 3;
  int height = 512;                 // default output size (CrepsGraph::set_output_size changes it)
  int width = 512;
  int key_dim = 0;                  // predictor's extra key input (the predictor reads w)
  std::vector<int> predictor_hidden;
  int min_channels = 8;             // scaled widths never go below this
  std::vector<int> attach_points;   // block after which each branch attaches, 1..blocks
  std::vector<std::pair<std::string, std::vector<CrepsBranchSpec>>> branches;  // [sf][branch], manifest order

  int num_blocks() const { return static_cast<int>(block_channels.size()); }
  // Branches at attach_points with the decoder and refinement widths scaled (>= min_channels).
  void add_scale_factor(const std::string& scale_factor);
  void validate(const std::string& origin) const;

  // FFHQ 512x512 (supplement Sec. 1.3; official cfg "creps": StyleGAN2 widths
  // doubled, min(65536 / res, 1024) for res 4..512 -> 1024 x5, 512, 256, 128),
  // rank 8, bandwidth 10, 8-layer mapping. Branches after blocks 2, 4, 6.
  static CrepsConfig paper(const std::vector<std::string>& scale_factors = {"1/2", "1/4"});
  // A test-sized model: z 16, 4 blocks (16, 16, 8, 8), rank 2, 16x16 output, branches after blocks 1, 2, 3.
  static CrepsConfig tiny(const std::vector<std::string>& scale_factors = {"1/2"});

  static CrepsConfig from_json(const nlohmann::json& j, const std::string& origin);
  nlohmann::json to_json() const;
};

class CrepsGraph : public BranchedGraph {
 public:
  explicit CrepsGraph(CrepsConfig config);
  ~CrepsGraph() override;

  int num_stages() const override;
  int num_branches() const override;
  int attach_point(int branch) const override;
  // input: latents [N, z_dim] or [N, z_dim, 1, 1]; renders at output_size().
  torch::Tensor front(const torch::Tensor& input) override;
  torch::Tensor stage(int k, const torch::Tensor& x) override;
  torch::Tensor head(const torch::Tensor& x) override;
  torch::Tensor branch(const std::string& scale_factor, int b, const torch::Tensor& x, const torch::Tensor& guide) override;
  // Reads w (and the key): [N, num_branches].
  torch::Tensor predict(const std::string& scale_factor, const torch::Tensor& front_features, const torch::Tensor& key) override;

  void set_output_size(int64_t height, int64_t width);
  std::pair<int64_t, int64_t> output_size() const { return {height_, width_}; }
  // Front at an explicit size (state for stage 1 onwards).
  torch::Tensor front_at(const torch::Tensor& input, int64_t height, int64_t width);
  // The whole backbone at height x width: [N, out_channels, height, width].
  torch::Tensor render(const torch::Tensor& z, int64_t height, int64_t width);

  const CrepsConfig& config() const { return config_; }
  // GFLOPs (1 MAC = 1 FLOP) of every route for an h x w output, backbone last.
  // Counted: every fully connected layer (mapping, style affines, the
  // modulated line and per-pixel layers, decoders, to-RGB) and the row x
  // column fusion products. Not counted: weight (de)modulation, Fourier
  // features, activations, biases, the predictor.
  std::vector<double> route_gflops(const std::string& scale_factor, int64_t h, int64_t w) const;
  std::vector<std::pair<std::string, int64_t>> backbone_macs(int64_t h, int64_t w) const;



 private:
  struct Impl;
  CrepsConfig config_;
  int64_t height_, width_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fiancee::models
