// Conversions between 8-bit frames (ImageView, image files) and model tensors
// in a package's pixel range, resizing to the model's resolution and back.
#pragma once

#include <torch/types.h>

#include <string>

#include "core/manifest.h"
#include "pipelines/frame_pipeline.h"

namespace fiancee {

// [1,C,spec.height,spec.width] float in the spec's range (area resize when shrinking).
torch::Tensor frame_to_tensor(const ImageView& frame, const ImageSpec& spec);
// image [C,H,W] (any device) in spec's range -> frame (its own size and stride).
// keep_aspect: fit the image centred and letterboxed (black) instead of stretching it.
void tensor_to_frame(const torch::Tensor& image, const ImageSpec& spec, const ImageView& frame, bool keep_aspect = false);
// Copies in to out (sizes may differ: resized) - the pass-through path.
void copy_frame(const ImageView& in, const ImageView& out);

// Writes image [3,H,W] in spec's range as PNG/JPEG by extension.
void write_image(const std::string& path, const torch::Tensor& image, const ImageSpec& spec);

}  // namespace fiancee
