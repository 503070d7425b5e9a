// A small, strict reader and writer for the safetensors format
// (https://huggingface.co/docs/safetensors): 8-byte little-endian header
// length, a JSON header naming each tensor's dtype, shape and byte range, then
// the raw little-endian data. Strict means: every byte of the data section is
// owned by exactly one tensor, ranges match dtype x shape, nothing is read past
// the file. Any violation throws PackageError naming the file.
#pragma once

#include <torch/types.h>

#include <map>
#include <string>

namespace fiancee::safetensors {

using TensorMap = std::map<std::string, torch::Tensor>;
using Metadata = std::map<std::string, std::string>;

// Loads every tensor into CPU memory. `metadata` (optional) receives __metadata__.
TensorMap load(const std::string& path, Metadata* metadata = nullptr);

// Writes tensors (any device, made contiguous on CPU) in name order.
void save(const std::string& path, const TensorMap& tensors, const Metadata& metadata = {});

}  // namespace fiancee::safetensors
