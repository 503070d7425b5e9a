#include "core/guide_db.h"

#include "core/errors.h"
#include "core/file_access.h"
#include "core/hash.h"
#include "core/safetensors.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/FaissException.h>
#include <faiss/index_io.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>

namespace fiancee {
namespace {

constexpr const char* kFormat = "fiancee-guide-db";
constexpr const char* kVersion = "1";
constexpr int kNprobe = 16;
constexpr int kSeed = 1234;

std::string shape_str(const torch::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

std::string describe(const torch::Tensor& t) {
  return shape_str(t) + " " + std::string(c10::toString(t.scalar_type()));
}

// nlist ~ 4*sqrt(n), capped so that k-means sees enough points per centroid
// (FAISS's own minimum; below it the centroids are noise and FAISS warns).
std::unique_ptr<faiss::Index> train_ivf(const torch::Tensor& keys) {
  const int64_t n = keys.size(0), d = keys.size(1);
  faiss::ClusteringParameters cp;
  const int64_t nlist = std::max<int64_t>(
      1, std::min<int64_t>(std::llround(4 * std::sqrt(double(n))), n / cp.min_points_per_centroid));
  auto quantizer = std::make_unique<faiss::IndexFlatL2>(d);
  auto ivf = std::make_unique<faiss::IndexIVFFlat>(quantizer.get(), d, nlist, faiss::METRIC_L2);
  quantizer.release();
  ivf->own_fields = true;
  ivf->cp.seed = kSeed;
  ivf->nprobe = std::min<int64_t>(kNprobe, nlist);
  ivf->train(n, keys.data_ptr<float>());
  ivf->add(n, keys.data_ptr<float>());
  return ivf;
}

}  // namespace

struct GuideDatabase::Impl {
  struct ClassIndex {
    std::vector<int64_t> rows;  // database row of each indexed key; empty = identity (no classes)
    std::unique_ptr<faiss::Index> index;
    bool approximate = false;
  };

  torch::Tensor keys;    // [N,D] float CPU contiguous
  torch::Tensor values;  // [N,...] CPU contiguous
  torch::Tensor labels;  // [N] int64 CPU or undefined
  std::map<int64_t, ClassIndex> classes;  // key 0 alone when there are no labels

  torch::Tensor class_keys(const ClassIndex& c) const {
    if (c.rows.empty()) return keys;
    return keys.index_select(0, torch::tensor(c.rows, torch::kLong)).contiguous();
  }

  // Nearest key of `c` for each of nq queries, written as database rows (-1 if none).
  void search(const ClassIndex& c, const float* q, int64_t nq, int64_t* out) const {
    std::vector<float> dist(nq);
    c.index->search(nq, q, 1, dist.data(), out);
    if (c.rows.empty()) return;
    for (int64_t i = 0; i < nq; ++i)
      if (out[i] >= 0) out[i] = c.rows[out[i]];
  }
};

GuideDatabase::GuideDatabase(torch::Tensor keys, torch::Tensor values, torch::Tensor labels, bool force_exact)
    : impl_(std::make_unique<Impl>()) {
  if (!keys.defined() || keys.dim() != 2 || !keys.is_floating_point() || keys.size(1) < 1)
    throw InputError("guide database keys must be a 2-D float tensor [N,D], got " +
                     (keys.defined() ? describe(keys) : std::string("nothing")));
  const int64_t n = keys.size(0);
  if (!values.defined() || values.dim() < 1 || values.size(0) != n)
    throw InputError("guide database values must be [N,...] with N = " + std::to_string(n) +
                     " (the number of keys), got " + (values.defined() ? shape_str(values) : std::string("nothing")));
  if (labels.defined() && (labels.dim() != 1 || labels.size(0) != n ||
                           !c10::isIntegralType(labels.scalar_type(), /*includeBool=*/false)))
    throw InputError("guide database labels must be an integer tensor [" + std::to_string(n) + "], got " +
                     describe(labels));

  impl_->keys = keys.to(torch::kCPU, torch::kFloat).contiguous();
  if (!torch::isfinite(impl_->keys).all().item<bool>())
    throw InputError("guide database keys contain NaN or Inf");
  impl_->values = values.to(torch::kCPU).contiguous();
  if (labels.defined()) {
    impl_->labels = labels.to(torch::kCPU, torch::kLong).contiguous();
    const int64_t* l = impl_->labels.data_ptr<int64_t>();
    for (int64_t i = 0; i < n; ++i) impl_->classes[l[i]].rows.push_back(i);
  } else {
    impl_->classes[0];
  }

  const int64_t d = impl_->keys.size(1);
  for (auto& [cls, c] : impl_->classes) {
    const torch::Tensor ck = impl_->class_keys(c);
    c.approximate = !force_exact && ck.size(0) > kExactLimit;
    if (c.approximate) {
      c.index = train_ivf(ck);
    } else {
      c.index = std::make_unique<faiss::IndexFlatL2>(d);
      c.index->add(ck.size(0), ck.data_ptr<float>());
    }
  }
}

GuideDatabase::~GuideDatabase() = default;
GuideDatabase::GuideDatabase(GuideDatabase&&) noexcept = default;
GuideDatabase& GuideDatabase::operator=(GuideDatabase&&) noexcept = default;

namespace {

std::string faiss_name(const std::string& prefix, bool has_labels, int64_t cls) {
  return has_labels ? prefix + "." + std::to_string(cls) + ".faiss" : prefix + ".faiss";
}

}  // namespace

std::vector<std::string> GuideDatabase::save(const std::string& dir, const std::string& prefix) const {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);  // a failure surfaces below, naming the file

  const bool has_labels = impl_->labels.defined();
  std::vector<std::string> written;
  safetensors::TensorMap tensors{{"keys", impl_->keys}, {"values", impl_->values}};
  if (has_labels) tensors["labels"] = impl_->labels;
  const std::string st = prefix + ".safetensors";
  safetensors::save(dir + "/" + st, tensors,
                    {{"format", kFormat}, {"version", kVersion}, {"exact", exact() ? "true" : "false"}});
  written.push_back(st);

  // Approximate indices are stored trained, so loading is fast and returns the same results.
  for (const auto& [cls, c] : impl_->classes) {
    if (!c.approximate) continue;
    const std::string name = faiss_name(prefix, has_labels, cls);
    const std::string path = dir + "/" + name;
    try {
      faiss::write_index(c.index.get(), path.c_str());
    } catch (const faiss::FaissException& e) {
      throw PackageError(path + ": cannot write the FAISS index: " + e.what());
    }
    written.push_back(name);
  }
  std::ofstream sidecar(dir + "/" + sidecar_name(prefix));
  for (const auto& name : written) sidecar << sha256_file(dir + "/" + name) << "  " << name << "\n";
  if (!sidecar.flush()) throw PackageError(dir + "/" + sidecar_name(prefix) + ": cannot write");
  return written;
}

GuideDatabase GuideDatabase::load(const std::string& dir, const std::string& prefix, const FileCheck& check) {
  const std::string path = dir + "/" + prefix + ".safetensors";
  if (!std::filesystem::exists(path)) throw PackageError(path + ": guide database file is missing");
  if (check) check(prefix + ".safetensors");
  safetensors::Metadata meta;
  safetensors::TensorMap t = safetensors::load(path, &meta);

  auto get = [&](const char* k) { auto it = meta.find(k); return it == meta.end() ? std::string() : it->second; };
  if (get("format") != kFormat || get("version") != kVersion)
    throw PackageError(path + ": not a guide database of format " + kFormat + " version " + kVersion +
                       " (metadata format '" + get("format") + "', version '" + get("version") + "')");
  const std::string exact_flag = get("exact");
  if (exact_flag != "true" && exact_flag != "false")
    throw PackageError(path + ": metadata 'exact' must be 'true' or 'false', got '" + exact_flag + "'");
  for (const char* name : {"keys", "values"})
    if (!t.count(name)) throw PackageError(path + ": tensor '" + name + "' is missing");
  const torch::Tensor& keys = t["keys"];
  if (keys.dim() != 2 || keys.scalar_type() != torch::kFloat)
    throw PackageError(path + ": 'keys' must be 2-D float32, got " + describe(keys));
  if (t.count("labels") && t["labels"].scalar_type() != torch::kLong)
    throw PackageError(path + ": 'labels' must be int64, got " + describe(t["labels"]));

  // Built exact (cheap: a copy of the keys); approximate indices are read below, never retrained.
  std::optional<GuideDatabase> db;
  try {
    db.emplace(keys, t["values"], t.count("labels") ? t["labels"] : torch::Tensor(), /*force_exact=*/true);
  } catch (const InputError& e) {
    throw PackageError(path + ": " + e.what());
  }
  if (exact_flag == "true") return std::move(*db);

  const bool has_labels = db->impl_->labels.defined();
  const int64_t d = keys.size(1);
  for (auto& [cls, c] : db->impl_->classes) {
    const torch::Tensor ck = db->impl_->class_keys(c);
    const int64_t n = ck.size(0);
    if (n <= kExactLimit) continue;
    const std::string fpath = dir + "/" + faiss_name(prefix, has_labels, cls);
    if (!std::filesystem::exists(fpath)) throw PackageError(fpath + ": FAISS index file is missing");
    // FAISS's reader is not safe on crafted files: only hashed ones reach it (docs/package-format.md#trust).
    if (check) check(faiss_name(prefix, has_labels, cls));
    else RegularFile{fpath, FileKind::Package, kNoSizeCap};  // a FIFO would block the reader
    std::unique_ptr<faiss::Index> index;
    try {
      index.reset(faiss::read_index(fpath.c_str()));
    } catch (const faiss::FaissException& e) {
      throw PackageError(fpath + ": cannot read the FAISS index: " + e.what());
    }
    if (!dynamic_cast<faiss::IndexIVF*>(index.get()) || index->metric_type != faiss::METRIC_L2)
      throw PackageError(fpath + ": expected an L2 IVF index");
    if (index->d != d || index->ntotal != n)
      throw PackageError(fpath + ": index holds " + std::to_string(index->ntotal) + " vectors of dim " +
                         std::to_string(index->d) + ", the keys are " + std::to_string(n) + " of dim " +
                         std::to_string(d));
    // A stale index of the right size would silently return wrong rows; its
    // first key must be found at distance 0 (it sits in its own probed list).
    float dist = 0;
    int64_t id = -1;
    index->search(1, ck.data_ptr<float>(), 1, &dist, &id);
    const float scale = ck[0].square().sum().item<float>();
    if (id < 0 || dist > 1e-5f * (1 + scale)) throw PackageError(fpath + ": index does not match the keys");
    c.index = std::move(index);
    c.approximate = true;
  }
  return std::move(*db);
}

GuideLookup GuideDatabase::lookup(const torch::Tensor& queries, const torch::Tensor& labels) const {
  const int64_t d = key_dim();
  if (!queries.defined() || queries.dim() != 2 || queries.size(1) != d)
    throw InputError("guide queries must be [Q, " + std::to_string(d) + "], got " +
                     (queries.defined() ? shape_str(queries) : std::string("nothing")));
  const torch::Tensor q = queries.to(torch::kCPU, torch::kFloat).contiguous();
  if (!torch::isfinite(q).all().item<bool>()) throw InputError("guide queries contain NaN or Inf");
  const int64_t nq = q.size(0);

  const bool has_classes = impl_->labels.defined();
  torch::Tensor ql;
  if (has_classes) {
    if (!labels.defined() || labels.dim() != 1 || labels.size(0) != nq ||
        !c10::isIntegralType(labels.scalar_type(), /*includeBool=*/false))
      throw InputError("guide query labels must be an integer tensor [" + std::to_string(nq) + "], got " +
                       (labels.defined() ? describe(labels) : std::string("nothing")) +
                       " (the database has classes)");
    ql = labels.to(torch::kCPU, torch::kLong).contiguous();
  } else if (labels.defined()) {
    throw InputError("guide query labels given but the database has no classes");
  }

  GuideLookup out;
  out.ids.assign(nq, -1);
  const auto t0 = std::chrono::steady_clock::now();
  if (!has_classes) {
    impl_->search(impl_->classes.begin()->second, q.data_ptr<float>(), nq, out.ids.data());
  } else {
    std::map<int64_t, std::vector<int64_t>> by_class;
    const int64_t* l = ql.data_ptr<int64_t>();
    for (int64_t i = 0; i < nq; ++i) by_class[l[i]].push_back(i);
    for (const auto& [cls, rows] : by_class) {
      auto it = impl_->classes.find(cls);
      if (it == impl_->classes.end()) continue;  // unseen class: no key may stand in for it
      const torch::Tensor sub = q.index_select(0, torch::tensor(rows, torch::kLong)).contiguous();
      std::vector<int64_t> found(rows.size());
      impl_->search(it->second, sub.data_ptr<float>(), sub.size(0), found.data());
      for (size_t j = 0; j < rows.size(); ++j) out.ids[rows[j]] = found[j];
    }
  }
  out.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

  std::vector<int64_t> shape{nq};
  for (int64_t s : value_shape()) shape.push_back(s);
  const torch::Tensor ids = torch::tensor(out.ids, torch::kLong);
  const torch::Tensor missing = (ids < 0).nonzero().flatten();
  if (size() == 0) {
    out.values = torch::zeros(shape, impl_->values.options());
  } else {
    out.values = impl_->values.index_select(0, ids.clamp_min(0));
    if (missing.numel() > 0) out.values.index_fill_(0, missing, 0);
  }
  return out;
}

int64_t GuideDatabase::size() const { return impl_->keys.size(0); }
int64_t GuideDatabase::key_dim() const { return impl_->keys.size(1); }

std::vector<int64_t> GuideDatabase::value_shape() const {
  auto s = impl_->values.sizes();
  return {s.begin() + 1, s.end()};
}

torch::Tensor GuideDatabase::labels() const { return impl_->labels; }
const torch::Tensor& GuideDatabase::keys() const { return impl_->keys; }

bool GuideDatabase::exact() const {
  return std::none_of(impl_->classes.begin(), impl_->classes.end(),
                      [](const auto& kv) { return kv.second.approximate; });
}

std::vector<int64_t> farthest_point_sample(const torch::Tensor& points, int64_t k) {
  if (!points.defined() || points.dim() != 2)
    throw InputError("farthest-point sampling needs points [N,D], got " +
                     (points.defined() ? shape_str(points) : std::string("nothing")));
  const torch::Tensor p = points.to(torch::kCPU, torch::kFloat).contiguous();
  if (!torch::isfinite(p).all().item<bool>()) throw InputError("farthest-point sampling: points contain NaN or Inf");
  const int64_t n = p.size(0);
  std::vector<int64_t> picked;
  if (k >= n) {
    for (int64_t i = 0; i < n; ++i) picked.push_back(i);
    return picked;
  }
  if (k <= 0) return picked;

  // dist[i] = squared distance of point i to the nearest picked point; picked
  // points are set to -1 so duplicates can never be picked twice.
  torch::Tensor dist = torch::full({n}, std::numeric_limits<float>::infinity());
  int64_t next = 0;
  for (int64_t j = 0; j < k; ++j) {
    picked.push_back(next);
    dist = torch::minimum(dist, (p - p[next]).square().sum(1));
    dist[next] = -1;
    next = dist.argmax().item<int64_t>();  // first maximum on ties: deterministic
  }
  return picked;
}

}  // namespace fiancee
