// How the synthesis pipeline turns a label map (and a noise seed) into the
// backbone input of a package's family. Shared by the runtime, the training,
// database and eval tools, so all compute exactly the same thing.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>

namespace fiancee::synth {

// OASIS's noise vector for a seed: [1,z_dim] standard normal, identical on
// every machine and LibTorch version (own generator, not torch's).
torch::Tensor noise_for_seed(uint64_t seed, int z_dim);

// labels [N,H,W] int64 -> OASIS: noise z [N or 1, z_dim] broadcast over the
// map + one-hot (family "oasis"); ASAP-Net: the one-hot alone ("asap", z unused).
// InputError for other families or class ids outside [0, num_classes).
torch::Tensor backbone_input(const std::string& family, const torch::Tensor& labels, const torch::Tensor& z, int num_classes);

}  // namespace fiancee::synth
