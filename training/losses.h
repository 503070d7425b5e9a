// Training losses shared by every pipeline's train-* commands.
#pragma once

#include <torch/types.h>

#include <vector>

namespace fiancee::losses {

torch::Tensor l1(const torch::Tensor& a, const torch::Tensor& b);
// L1 with a per-pixel weight [B,1,H,W], normalised by the weights' mean (so
// it equals l1 for uniform weights); an undefined weight is plain l1.
torch::Tensor l1(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& weight);
// 1 - MS-SSIM averaged over the batch (images in [-1,1]); same code as the metric.
torch::Tensor ms_ssim(const torch::Tensor& a, const torch::Tensor& b);
// Hinge GAN losses over the outputs of several discriminators / scales.
torch::Tensor hinge_discriminator(const std::vector<torch::Tensor>& real, const std::vector<torch::Tensor>& fake);
torch::Tensor hinge_generator(const std::vector<torch::Tensor>& fake);
// L1 between discriminator features of real (detached) and fake images.
torch::Tensor feature_matching(const std::vector<torch::Tensor>& real, const std::vector<torch::Tensor>& fake);

}  // namespace fiancee::losses
