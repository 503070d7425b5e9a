// The early-exit graph the engine drives: a backbone split into a front
// (always run), stages 1..S, and a head; branches that attach after a stage
// and render an image; a predictor that reads the front's features. One
// implementation per architecture family lives in models/, plus a TorchScript
// one (models/torchscript.h) for backbones users bring themselves.
#pragma once

#include <torch/types.h>

#include <string>
#include <vector>

namespace fiancee {

// What a graph looks up in the guide database itself (OASIS: one key per
// front-feature patch, searched within the patch's semantic class).
struct GuideQuery {
  torch::Tensor keys;    // [Q,D]; undefined = the graph makes no query of its own
  torch::Tensor labels;  // [Q] int64 class per key, or undefined
};

class ExitGraph {
 public:
  virtual ~ExitGraph() = default;

  virtual int num_stages() const = 0;
  virtual int num_branches() const = 0;
  // Stage after which branch b attaches: 0 = on the front's output, S = after the last stage.
  virtual int attach_point(int branch) const = 0;
  // Scale factors this graph holds branches for, in manifest order.
  virtual std::vector<std::string> scale_factors() const = 0;

  virtual torch::Tensor front(const torch::Tensor& input) = 0;
  virtual torch::Tensor stage(int k, const torch::Tensor& x) = 0;  // k in 1..S
  virtual torch::Tensor head(const torch::Tensor& x) = 0;          // backbone image
  // guide: retrieved guide tensor [N,...] or undefined (no database).
  virtual torch::Tensor branch(const std::string& scale_factor, int b, const torch::Tensor& x,
                               const torch::Tensor& guide) = 0;
  // The image that a head or branch output stands for, given the same frames'
  // graph input: the output itself, or, for a refiner, the output added to
  // the image the input starts from (G2DConfig::residual_channels).
  virtual torch::Tensor finish(const torch::Tensor& output, const torch::Tensor& input) {
    (void)input;
    return output;
  }
  // Predicted quality distance of every branch: [N, num_branches].
  virtual torch::Tensor predict(const std::string& scale_factor, const torch::Tensor& front_features,
                                const torch::Tensor& key) = 0;

  // The database query for the frames whose front output is front_out; by
  // default none, and the engine looks up the caller's key instead.
  virtual GuideQuery guide_query(const torch::Tensor& front_out) {
    (void)front_out;
    return {};
  }
  // Values the database returned for guide_query (or the key), in query order -> branch() guide.
  virtual torch::Tensor guide_from_values(const torch::Tensor& values, int64_t frames) {
    (void)frames;
    return values;
  }

  virtual void to(const torch::Device& device) = 0;
  // Stores the weights in dtype (float or bfloat16); returns false, changing
  // nothing, when the graph cannot (TorchScript: a user's module may assume float).
  virtual bool set_dtype(torch::ScalarType dtype) { return dtype == torch::kFloat; }
  virtual void eval() = 0;
  // Stores 4-D weights channels-last (NHWC) or back in NCHW; returns whether
  // the graph takes NHWC input now. Graphs that cannot (TorchScript: a user's
  // module may view() its input) keep NCHW and return false.
  virtual bool set_channels_last(bool channels_last) {
    (void)channels_last;
    return false;
  }
};

}  // namespace fiancee
