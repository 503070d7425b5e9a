// How the synthesis pipeline turns a label map (and a noise seed) into the
// backbone input of a package's family. Shared by the runtime, the training,
// database and eval tools, so all compute exactly the same thing.
#pragma once

#include <torch/types.h>

#include <cstdint>

#include "models/registry.h"

namespace fiancee::synth {

// OASIS's noise vector for a seed: [1,z_dim] standard normal, identical on
// every machine and LibTorch version (own generator, not torch's).
torch::Tensor noise_for_seed(uint64_t seed, int z_dim);

// InputError unless every class id in labels (any shape, integer) lies in
// [0, num_classes); it names the first offending id and its position.
void check_class_ids(const torch::Tensor& labels, int num_classes);

// labels [N,H,W] int64 and noise z [N or 1, z_dim] -> the backbone input by
// the family's rule (OASIS: z broadcast over the map + one-hot; ASAP-Net: the
// one-hot alone, z unused). InputError for families the synthesis pipeline
// cannot run or class ids outside [0, num_classes).
torch::Tensor backbone_input(const models::Family& family, const torch::Tensor& labels, const torch::Tensor& z, int num_classes);

}  // namespace fiancee::synth
