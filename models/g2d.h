// The MegaPortraits-style G2D renderer as a FIANCEE early-exit graph: a conv
// front, a backbone of ResBlock2D stages with an image head, and per scale
// factor a set of branches (narrower ResBlock2D chains mirroring the rest of
// the backbone, each block input widened by the guide image's channels) and
// the MLP predictor of Table S7. Sizes are configurable, from the tiny test
// packages to the paper's 512-channel renderer.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <string>
#include <vector>

#include "core/exit_graph.h"
#include "models/branched_graph.h"
#include "core/safetensors.h"

namespace torch::nn {
class Module;
}

namespace fiancee::models {

struct G2DBlockSpec {
  int in = 0;
  int out = 0;
  bool upsample = false;
};

struct G2DConfig {
  int input_channels = 6;            // front input (driver + source image for the demo front)
  std::vector<int> front_channels;   // conv widths; every conv after the first has stride 2; empty = identity
  int front_out() const { return front_channels.empty() ? input_channels : front_channels.back(); }
  std::vector<G2DBlockSpec> stages;  // backbone ResBlock2D stages
  std::vector<int> attach_points;    // stage after which each branch attaches
  int guide_channels = 0;            // added to every branch block input (3 = RGB guide image)
  int key_dim = 0;                   // predictor's extra key input
  // > 0: a refiner. Head and branches render a correction that is added to the
  // first residual_channels input channels (the warped avatar), so an exit
  // starts from the warp and keeps its texture.
  int residual_channels = 0;
  // A refiner's correction is residual_scale x the head's tanh: 2 lets it turn
  // lips into a dark mouth interior or an iris into an eyelid (a change of more
  // than half the [-1,1] range); 1 in packages made before the field existed.
  double residual_scale = 1.0;
  int predictor_grid = 4;            // front features pooled to grid x grid before the MLP
  std::vector<int> predictor_hidden;
  int min_channels = 24;
  // Branch blocks per scale factor, in manifest order: [sf][branch][block].
  std::vector<std::pair<std::string, std::vector<std::vector<G2DBlockSpec>>>> branches;

  // Branches mirroring the backbone after each attach point, widths scaled by
  // each factor (never below min_channels), first block input unscaled.
  void add_scale_factor(const std::string& scale_factor);

  // The paper's renderer (FIANCEE Sec. 4.2, Table S9): 9 ResBlock2D from 512
  // channels at 64x64 to 64 channels at 512x512, branches after blocks 2, 4, 6,
  // with the widths Table S9 lists for each of "1/3", "1/6", "1/8", "1/15".
  static G2DConfig paper(const std::vector<std::string>& scale_factors, bool guide);

  static G2DConfig from_json(const nlohmann::json& j, const std::string& origin);
  nlohmann::json to_json() const;
};

class G2DGraph : public BranchedGraph {
 public:
  explicit G2DGraph(G2DConfig config);
  ~G2DGraph() override;

  int num_stages() const override;
  int num_branches() const override;
  int attach_point(int branch) const override;
  torch::Tensor front(const torch::Tensor& input) override;
  torch::Tensor stage(int k, const torch::Tensor& x) override;
  torch::Tensor head(const torch::Tensor& x) override;
  torch::Tensor branch(const std::string& scale_factor, int b, const torch::Tensor& x, const torch::Tensor& guide) override;
  torch::Tensor predict(const std::string& scale_factor, const torch::Tensor& front_features, const torch::Tensor& key) override;
  torch::Tensor finish(const torch::Tensor& output, const torch::Tensor& input) override;

  const G2DConfig& config() const { return config_; }
  // GFLOPs (convention: 1 multiply-accumulate = 1 FLOP, as in the paper's tables;
  // see docs/flops.md) of every route for an input of h x w, backbone last.
  std::vector<double> route_gflops(const std::string& scale_factor, int64_t h, int64_t w) const;



 private:
  struct Impl;
  G2DConfig config_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace fiancee::models
