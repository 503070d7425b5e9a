#include "models/blocks.h"

#include <torch/nn/functional.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/linear.h>

namespace fiancee::models {

namespace F = torch::nn::functional;

namespace {
torch::nn::Conv2dOptions conv(int in, int out, int k) { return torch::nn::Conv2dOptions(in, out, k).padding(k / 2); }
}  // namespace

torch::nn::Sequential mlp_predictor(int64_t in, const std::vector<int>& hidden, int64_t outputs) {
  torch::nn::Sequential mlp;
  for (int h : hidden) {
    mlp->push_back(torch::nn::Linear(in, h));
    mlp->push_back(torch::nn::LeakyReLU(torch::nn::LeakyReLUOptions().negative_slope(0.2)));
    in = h;
  }
  mlp->push_back(torch::nn::Linear(in, outputs));
  return mlp;
}

ResBlock2DImpl::ResBlock2DImpl(int in, int out, bool upsample) : in_(in), out_(out), upsample_(upsample) {
  norm1_ = register_module("norm1", torch::nn::BatchNorm2d(in));
  conv1_ = register_module("conv1", torch::nn::Conv2d(conv(in, out, 3)));
  norm2_ = register_module("norm2", torch::nn::BatchNorm2d(out));
  conv2_ = register_module("conv2", torch::nn::Conv2d(conv(out, out, 3)));
  skip_ = register_module("skip", torch::nn::Conv2d(conv(in, out, 1)));
}

torch::Tensor ResBlock2DImpl::forward(torch::Tensor x) {
  if (upsample_)
    x = F::interpolate(x, F::InterpolateFuncOptions().scale_factor(std::vector<double>{2.0, 2.0})
                              .mode(torch::kBilinear).align_corners(false));
  auto h = conv1_(torch::hardswish(norm1_(x)));
  h = conv2_(torch::hardswish(norm2_(h)));
  return h + skip_(x);
}

ImageHeadImpl::ImageHeadImpl(int in) : in_(in) { conv_ = register_module("conv", torch::nn::Conv2d(conv(in, 3, 3))); }

torch::Tensor ImageHeadImpl::forward(const torch::Tensor& x) { return torch::tanh(conv_(torch::relu(x))); }

}  // namespace fiancee::models
