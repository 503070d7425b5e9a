#include "models/branched_graph.h"

#include <torch/torch.h>

#include "core/errors.h"
#include "models/state_dict.h"

namespace fiancee::models {

torch::Tensor with_key(const torch::Tensor& pooled, const torch::Tensor& key, int key_dim) {
  if (key_dim == 0) return pooled;
  auto k = key.defined() ? key.to(pooled.device(), pooled.scalar_type()).reshape({pooled.size(0), -1})
                         : torch::zeros({pooled.size(0), key_dim}, pooled.options());
  if (k.size(1) != key_dim)
    throw InputError("predictor key has " + std::to_string(k.size(1)) + " values, the model expects " + std::to_string(key_dim));
  return torch::cat({pooled, k}, 1);
}

void BranchedGraph::set_modules(std::shared_ptr<torch::nn::Module> backbone, ModuleSets sets) {
  backbone_ = std::move(backbone);
  sets_ = std::move(sets);
}

std::vector<std::string> BranchedGraph::scale_factors() const {
  std::vector<std::string> out;
  for (const auto& [sf, m] : sets_) out.push_back(sf);
  return out;
}

void BranchedGraph::to(const torch::Device& device) {
  backbone_->to(device);
  for (auto& [sf, m] : sets_) m->to(device);
}

bool BranchedGraph::set_dtype(torch::ScalarType dtype) {
  backbone_->to(dtype);
  for (auto& [sf, m] : sets_) m->to(dtype);
  return true;
}

bool BranchedGraph::set_channels_last(bool channels_last) {
  const auto format = channels_last ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
  auto convert = [&](torch::nn::Module& m) {
    torch::NoGradGuard no_grad;
    for (auto& p : m.parameters())
      if (p.dim() == 4) p.set_data(p.data().contiguous(format));
  };
  convert(*backbone_);
  for (auto& [sf, m] : sets_) convert(*m);
  return channels_last;
}

void BranchedGraph::eval() {
  backbone_->eval();
  for (auto& [sf, m] : sets_) m->eval();
}

torch::nn::Module& BranchedGraph::backbone_module() const { return *backbone_; }

torch::nn::Module& BranchedGraph::branch_module(const std::string& sf) const {
  std::string known;
  for (const auto& [name, m] : sets_) {
    if (name == sf) return *m;
    known += (known.empty() ? "" : ", ") + name;
  }
  throw InputError("scale factor '" + sf + "' has no branches in this model (it has: " + known + ")");
}

safetensors::TensorMap BranchedGraph::backbone_state() const { return state_of(*backbone_); }

safetensors::TensorMap BranchedGraph::branch_state(const std::string& sf) const { return state_of(branch_module(sf)); }

void BranchedGraph::load_backbone(const safetensors::TensorMap& tensors, const std::string& origin) {
  load_state(*backbone_, tensors, "", origin);
}

void BranchedGraph::load_branches(const std::string& sf, const safetensors::TensorMap& tensors, const std::string& origin) {
  load_state(branch_module(sf), tensors, "", origin);
}

}  // namespace fiancee::models
