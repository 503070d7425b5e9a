// The guide database: a key-value store searched by nearest key (FAISS).
// Keys are float vectors; values are tensors of one fixed shape (images for
// reenactment, feature patches for synthesis). Optionally each key carries a
// class label and search is restricted to one class (the OASIS patch design).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace fiancee {

struct GuideLookup {
  std::vector<int64_t> ids;  // row of the nearest key per query, -1 if none
  torch::Tensor values;      // [Q, value_shape...]
  double ms = 0;             // wall time of the search
};

class GuideDatabase {
 public:
  // Above this many keys (per class) an approximate IVF index is built instead of exact search.
  static constexpr int64_t kExactLimit = 20000;

  // keys [N,D] float, values [N,...], labels [N] int64 or undefined (no classes).
  // force_exact keeps exact search whatever the size.
  GuideDatabase(torch::Tensor keys, torch::Tensor values, torch::Tensor labels = {}, bool force_exact = false);
  ~GuideDatabase();
  GuideDatabase(GuideDatabase&&) noexcept;
  GuideDatabase& operator=(GuideDatabase&&) noexcept;

  // Files: <prefix>.safetensors (keys, values, labels), <prefix>.faiss per
  // index when approximate, and <prefix>.sha256 listing their SHA-256 (the
  // format of sha256sum) so a database outside a package can be checked too.
  // Returns the database file names written (relative to dir), sidecar excluded.
  std::vector<std::string> save(const std::string& dir, const std::string& prefix) const;
  // Called with each file's name (relative to dir) before it is read; throws to refuse it.
  using FileCheck = std::function<void(const std::string& name)>;
  // Throws PackageError naming the file on anything missing or inconsistent.
  static GuideDatabase load(const std::string& dir, const std::string& prefix, const FileCheck& check = nullptr);
  // The <prefix>.sha256 sidecar of a database directory: file name -> SHA-256.
  static std::string sidecar_name(const std::string& prefix) { return prefix + ".sha256"; }

  // queries [Q,D]; labels [Q] or undefined. Values returned on CPU.
  GuideLookup lookup(const torch::Tensor& queries, const torch::Tensor& labels = {}) const;

  int64_t size() const;
  int64_t key_dim() const;
  std::vector<int64_t> value_shape() const;
  torch::Tensor labels() const;  // [N] int64 class per key, undefined without classes
  const torch::Tensor& keys() const;  // [N,D] float CPU
  bool exact() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Farthest-point sampling: indices of k rows of points [N,D] spread to cover
// the set (first = index 0). k >= N returns all.
std::vector<int64_t> farthest_point_sample(const torch::Tensor& points, int64_t k);

}  // namespace fiancee
