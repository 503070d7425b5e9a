// What every native family shares: one backbone module and, per scale factor,
// one module holding its branches and predictor; moving, evaluating, saving
// and loading them. Families derive from it and register their typed modules.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/exit_graph.h"
#include "core/safetensors.h"

namespace torch::nn {
class Module;
}

namespace fiancee::models {

// The predictor's input: pooled features [N,F] followed by the key [N,key_dim]
// (zeros when the caller has none). InputError when the key has another size.
torch::Tensor with_key(const torch::Tensor& pooled, const torch::Tensor& key, int key_dim);

class BranchedGraph : public ExitGraph {
 public:
  std::vector<std::string> scale_factors() const override;
  void to(const torch::Device& device) override;
  bool set_dtype(torch::ScalarType dtype) override;
  void eval() override;
  bool set_channels_last(bool channels_last) override;

  safetensors::TensorMap backbone_state() const;
  safetensors::TensorMap branch_state(const std::string& scale_factor) const;  // branches + predictor
  void load_backbone(const safetensors::TensorMap& tensors, const std::string& origin);
  void load_branches(const std::string& scale_factor, const safetensors::TensorMap& tensors, const std::string& origin);

  // Modules for training (parameters, train()/eval()).
  torch::nn::Module& backbone_module() const;
  // InputError listing the model's scale factors when it has none by that name.
  torch::nn::Module& branch_module(const std::string& scale_factor) const;

 protected:
  using ModuleSets = std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>>;
  // Called once by the family's constructor, sets in the config's scale-factor order.
  void set_modules(std::shared_ptr<torch::nn::Module> backbone, ModuleSets sets);
  // The family's own branch-set type for one scale factor.
  template <typename Set>
  Set& branch_set(const std::string& scale_factor) const {
    return static_cast<Set&>(branch_module(scale_factor));
  }

 private:
  std::shared_ptr<torch::nn::Module> backbone_;
  ModuleSets sets_;
};

}  // namespace fiancee::models
