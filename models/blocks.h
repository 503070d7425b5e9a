// Building blocks shared by the architecture families, each able to report
// its multiply-accumulates (MACs) for an input size.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <vector>

namespace fiancee::models {

// The exit predictor's MLP (FIANCEE Table S7 shape): Linear + LeakyReLU(0.2)
// per hidden width, then a Linear to one prediction per branch.
torch::nn::Sequential mlp_predictor(int64_t in, const std::vector<int>& hidden, int64_t outputs);

// MACs of a k x k convolution producing an out_h x out_w map.
inline int64_t conv_macs(int64_t in, int64_t out, int64_t k, int64_t out_h, int64_t out_w) {
  return in * out * k * k * out_h * out_w;
}

// MACs of a ResBlock2D (two 3x3 convs and the 1x1 skip) on an h x w input.
inline int64_t resblock_macs(int64_t in, int64_t out, bool upsample, int64_t h, int64_t w) {
  if (upsample) h *= 2, w *= 2;
  return conv_macs(in, out, 3, h, w) + conv_macs(out, out, 3, h, w) + conv_macs(in, out, 1, h, w);
}

// FIANCEE Table S9's ResBlock2D: BN, h-swish, conv3x3, BN, h-swish, conv3x3,
// plus a 1x1 conv on the skip path; optional 2x bilinear upsampling first.
class ResBlock2DImpl : public torch::nn::Module {
 public:
  ResBlock2DImpl(int in, int out, bool upsample);
  torch::Tensor forward(torch::Tensor x);
  // MACs for an input of h x w (before upsampling).
  int64_t macs(int64_t h, int64_t w) const { return resblock_macs(in_, out_, upsample_, h, w); }
  int in_channels() const { return in_; }
  int out_channels() const { return out_; }
  bool upsample() const { return upsample_; }

 private:
  int in_, out_;
  bool upsample_;
  torch::nn::BatchNorm2d norm1_{nullptr}, norm2_{nullptr};
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, skip_{nullptr};
};
TORCH_MODULE(ResBlock2D);

// ReLU, conv3x3 to RGB, tanh: the image head of backbone and branches (Table S9's last row).
class ImageHeadImpl : public torch::nn::Module {
 public:
  explicit ImageHeadImpl(int in);
  torch::Tensor forward(const torch::Tensor& x);
  int64_t macs(int64_t h, int64_t w) const { return conv_macs(in_, 3, 3, h, w); }

 private:
  int in_;
  torch::nn::Conv2d conv_{nullptr};
};
TORCH_MODULE(ImageHead);

}  // namespace fiancee::models
