#include "core/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>
#include <set>
#include <system_error>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/errors.h"
#include "core/file_access.h"

// Tensor bytes are copied verbatim; the format is little-endian.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors I/O assumes a little-endian host");

namespace fiancee::safetensors {
namespace {

using json = nlohmann::json;

// A header lists each tensor in about 100 bytes: 16 MB is 160 000 tensors, far
// beyond any model here, and bounds what a hostile header costs to parse.
constexpr uint64_t kMaxHeaderBytes = 16'000'000;
// {name: {dtype, shape: [..], data_offsets: [..]}} nests three deep; deeper is
// refused while parsing, before a nested document can cost memory.
constexpr int kMaxHeaderDepth = 3;

struct DtypeInfo {
  const char* name;
  torch::ScalarType type;
  size_t itemsize;
};

constexpr DtypeInfo kDtypes[] = {
    {"F64", torch::kFloat64, 8}, {"F32", torch::kFloat32, 4}, {"F16", torch::kFloat16, 2},
    {"BF16", torch::kBFloat16, 2}, {"I64", torch::kInt64, 8}, {"I32", torch::kInt32, 4},
    {"I16", torch::kInt16, 2},   {"I8", torch::kInt8, 1},     {"U8", torch::kUInt8, 1},
    {"BOOL", torch::kBool, 1},
};

const DtypeInfo* dtype_by_name(const std::string& name) {
  for (const auto& d : kDtypes)
    if (name == d.name) return &d;
  return nullptr;
}

const DtypeInfo* dtype_by_type(torch::ScalarType type) {
  for (const auto& d : kDtypes)
    if (type == d.type) return &d;
  return nullptr;
}

std::string supported_dtypes() {
  std::string out;
  for (const auto& d : kDtypes) out += std::string(out.empty() ? "" : ", ") + d.name;
  return out;
}

std::string errno_text(int err) { return std::generic_category().message(err); }

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw PackageError(path + ": " + what);
}

template <typename T>
std::string list(const std::vector<T>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + std::to_string(values[i]);
  return out + "]";
}

std::string quoted(const std::string& name) { return "'" + name + "'"; }

// Closes the descriptor on every exit path.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Reads exactly n bytes at offset, or throws: a short read means the file
// changed under us or the disk failed, either way the weights are unusable.
void read_exact(const std::string& path, int fd, void* dst, uint64_t n, uint64_t offset) {
  auto* out = static_cast<char*>(dst);
  while (n > 0) {
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(n, 1 << 30));
    const ssize_t got = ::pread(fd, out, chunk, static_cast<off_t>(offset));
    if (got < 0) {
      if (errno == EINTR) continue;
      fail(path, "cannot read (" + errno_text(errno) + ")");
    }
    if (got == 0) fail(path, "file shrank while it was being read");
    out += got;
    n -= static_cast<uint64_t>(got);
    offset += static_cast<uint64_t>(got);
  }
}

void write_all(const std::string& path, int fd, const void* src, size_t n) {
  const auto* in = static_cast<const char*>(src);
  while (n > 0) {
    const ssize_t put = ::write(fd, in, n);
    if (put < 0) {
      if (errno == EINTR) continue;
      fail(path, "cannot write (" + errno_text(errno) + ")");
    }
    in += put;
    n -= static_cast<size_t>(put);
  }
}

// nlohmann silently keeps the last of duplicate keys; a duplicated tensor name
// would make the file ambiguous, so reject it while parsing.
json parse_header(const std::string& path, const std::string& text) {
  std::vector<std::set<std::string>> seen;
  auto check_duplicates = [&](int depth, json::parse_event_t event, json& parsed) {
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) && depth >= kMaxHeaderDepth)
      fail(path, "header nests deeper than the " + std::to_string(kMaxHeaderDepth) + " levels of the format");
    if (event == json::parse_event_t::object_start) {
      seen.emplace_back();
    } else if (event == json::parse_event_t::object_end) {
      seen.pop_back();
    } else if (event == json::parse_event_t::key) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!seen.back().insert(key).second) fail(path, "header has duplicate key " + quoted(key));
    }
    return true;
  };
  try {
    return json::parse(text, check_duplicates);
  } catch (const json::exception& e) {
    // Drop nlohmann's "[json.exception.parse_error.101] " tag; keep its position and reason.
    std::string reason = e.what();
    const auto tag_end = reason.find("] ");
    if (tag_end != std::string::npos) reason.erase(0, tag_end + 2);
    fail(path, "header is not valid JSON (" + reason + ")");
  }
}

struct Entry {
  std::string name;
  const DtypeInfo* dtype;
  std::vector<int64_t> shape;
  uint64_t begin, end;
};

Entry parse_entry(const std::string& path, const std::string& name, const json& value) {
  const std::string who = "tensor " + quoted(name);
  if (!value.is_object()) fail(path, who + " is not a JSON object");
  for (const auto& [key, _] : value.items())
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      fail(path, who + " has unexpected field " + quoted(key));
  for (const char* key : {"dtype", "shape", "data_offsets"})
    if (!value.contains(key)) fail(path, who + " lacks field '" + key + "'");

  Entry entry{name, nullptr, {}, 0, 0};
  const json& dtype = value["dtype"];
  if (!dtype.is_string()) fail(path, who + " dtype " + dtype.dump() + " is not a string");
  entry.dtype = dtype_by_name(dtype.get<std::string>());
  if (!entry.dtype)
    fail(path, who + " has unsupported dtype " + quoted(dtype.get<std::string>()) + " (supported: " +
                   supported_dtypes() + ")");

  // nlohmann stores non-negative integer literals as unsigned and negative ones as signed.
  const json& shape = value["shape"];
  bool shape_ok = shape.is_array();
  for (const auto& dim : shape) shape_ok = shape_ok && dim.is_number_unsigned();
  if (!shape_ok) fail(path, who + " shape " + shape.dump() + " is not an array of non-negative integers");
  uint64_t bytes = entry.dtype->itemsize;
  for (const auto& dim : shape) {
    const uint64_t d = dim.get<uint64_t>();
    if (d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) || __builtin_mul_overflow(bytes, d, &bytes))
      fail(path, who + " shape " + shape.dump() + " is too large");
    entry.shape.push_back(static_cast<int64_t>(d));
  }

  const json& offsets = value["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned())
    fail(path, who + " data_offsets " + offsets.dump() + " is not a pair of non-negative integers");
  entry.begin = offsets[0].get<uint64_t>();
  entry.end = offsets[1].get<uint64_t>();
  const std::string range = list(std::vector<uint64_t>{entry.begin, entry.end});
  if (entry.end < entry.begin) fail(path, who + " data_offsets " + range + " end before they begin");
  if (entry.end - entry.begin != bytes)
    fail(path, who + " data_offsets " + range + " do not match " + entry.dtype->name + " shape " +
                   list(entry.shape) + " (" + std::to_string(bytes) + " bytes)");
  return entry;
}

// Every byte of the data section must belong to exactly one tensor.
void check_tiling(const std::string& path, std::vector<Entry>& entries, uint64_t data_bytes) {
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return std::tie(a.begin, a.end) < std::tie(b.begin, b.end); });
  uint64_t covered = 0;
  const Entry* previous = nullptr;
  for (const auto& e : entries) {
    const std::string range = list(std::vector<uint64_t>{e.begin, e.end});
    if (e.end > data_bytes)
      fail(path, "tensor " + quoted(e.name) + " data_offsets " + range + " run past the end of the data section (" +
                     std::to_string(data_bytes) + " bytes)");
    if (e.begin < covered)
      fail(path, "tensor " + quoted(e.name) + " data_offsets " + range + " overlap tensor " +
                     quoted(previous->name) + " " + list(std::vector<uint64_t>{previous->begin, previous->end}));
    if (e.begin > covered)
      fail(path, "gap of " + std::to_string(e.begin - covered) + " bytes in the data section at offset " +
                     std::to_string(covered) + ", before tensor " + quoted(e.name));
    covered = e.end;
    previous = &e;
  }
  if (covered < data_bytes)
    fail(path, std::to_string(data_bytes - covered) + " trailing bytes in the data section after the last tensor");
}

Metadata parse_metadata(const std::string& path, const json& value) {
  if (!value.is_object()) fail(path, "__metadata__ is not a JSON object");
  Metadata out;
  for (const auto& [key, v] : value.items()) {
    if (!v.is_string()) fail(path, "__metadata__ value for " + quoted(key) + " is not a string");
    out.emplace(key, v.get<std::string>());
  }
  return out;
}

}  // namespace

TensorMap load(const std::string& path, Metadata* metadata) {
  const RegularFile file(path, FileKind::Package, kNoSizeCap);
  const auto file_bytes = static_cast<uint64_t>(file.size());

  if (file_bytes < 8)
    fail(path, "truncated file: " + std::to_string(file_bytes) + " bytes, too short for the 8-byte header length");
  unsigned char length_le[8];
  read_exact(path, file.fd(), length_le, 8, 0);
  uint64_t header_bytes = 0;
  for (int i = 7; i >= 0; --i) header_bytes = (header_bytes << 8) | length_le[i];
  if (header_bytes > file_bytes - 8)
    fail(path, "header length " + std::to_string(header_bytes) + " runs past the end of the file (" +
                   std::to_string(file_bytes) + " bytes)");
  if (header_bytes >= kMaxHeaderBytes)
    fail(path, "header length " + std::to_string(header_bytes) + " exceeds the limit of " +
                   std::to_string(kMaxHeaderBytes) + " bytes");

  std::string text(header_bytes, '\0');
  read_exact(path, file.fd(), text.data(), header_bytes, 8);
  const json header = parse_header(path, text);
  if (!header.is_object()) fail(path, "header is not a JSON object");

  std::vector<Entry> entries;
  Metadata meta;
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__")
      meta = parse_metadata(path, value);
    else
      entries.push_back(parse_entry(path, name, value));
  }
  const uint64_t data_start = 8 + header_bytes;
  check_tiling(path, entries, file_bytes - data_start);

  // Read straight into tensor storage in file order: one pass, no staging copy.
  TensorMap tensors;
  for (const auto& e : entries) {
    torch::Tensor t = torch::empty(e.shape, torch::TensorOptions().dtype(e.dtype->type));
    read_exact(path, file.fd(), t.data_ptr(), e.end - e.begin, data_start + e.begin);
    // Any byte other than 0 or 1 in a torch bool tensor is undefined behaviour.
    if (e.dtype->type == torch::kBool) {
      const auto* bytes = static_cast<const uint8_t*>(t.data_ptr());
      const auto* bad = std::find_if(bytes, bytes + t.numel(), [](uint8_t b) { return b > 1; });
      if (bad != bytes + t.numel())
        fail(path, "tensor " + quoted(e.name) + " BOOL element " + std::to_string(bad - bytes) + " is byte " +
                       std::to_string(*bad) + ", not 0 or 1");
    }
    tensors.emplace(e.name, std::move(t));
  }
  if (metadata) *metadata = std::move(meta);
  return tensors;
}

void save(const std::string& path, const TensorMap& tensors, const Metadata& metadata) {
  std::vector<torch::Tensor> data;
  json header = json::object();
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {  // std::map iterates in name order
    const std::string who = "tensor " + quoted(name);
    if (name == "__metadata__") fail(path, "'__metadata__' is reserved and cannot name a tensor");
    if (!tensor.defined()) fail(path, who + " is undefined");
    if (tensor.layout() != torch::kStrided) fail(path, who + " is not a dense tensor");
    const DtypeInfo* dtype = dtype_by_type(tensor.scalar_type());
    if (!dtype)
      fail(path, who + " has dtype " + std::string(c10::toString(tensor.scalar_type())) +
                     ", which is not supported (supported: " + supported_dtypes() + ")");
    torch::Tensor t = tensor.to(torch::kCPU).contiguous();
    const uint64_t bytes = t.nbytes();
    header[name] = {{"dtype", dtype->name}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(std::move(t));
  }
  if (!metadata.empty()) header["__metadata__"] = metadata;

  std::string text;
  try {
    text = header.dump();
  } catch (const json::exception& e) {  // names or metadata that are not valid UTF-8
    fail(path, std::string("cannot encode header (") + e.what() + ")");
  }
  // Pad so the data section starts 8-byte aligned, as the reference writer does.
  text.append((8 - text.size() % 8) % 8, ' ');
  unsigned char length_le[8];
  for (int i = 0; i < 8; ++i) length_le[i] = static_cast<unsigned char>(text.size() >> (8 * i));

  // Write beside the target and rename, so readers never see a half-written file.
  static std::atomic<unsigned> counter{0};
  const std::string tmp = path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  Fd file{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666)};
  if (file.fd < 0) fail(tmp, "cannot create (" + errno_text(errno) + ")");
  try {
    write_all(tmp, file.fd, length_le, sizeof length_le);
    write_all(tmp, file.fd, text.data(), text.size());
    for (const auto& t : data) write_all(tmp, file.fd, t.data_ptr(), t.nbytes());
    // Without fsync a crash after the rename can leave an empty file under the final name.
    if (::fsync(file.fd) != 0) fail(tmp, "cannot sync (" + errno_text(errno) + ")");
    const int fd = file.fd;
    file.fd = -1;
    if (::close(fd) != 0) fail(tmp, "cannot close (" + errno_text(errno) + ")");
    if (::rename(tmp.c_str(), path.c_str()) != 0)
      fail(path, "cannot rename " + tmp + " into place (" + errno_text(errno) + ")");
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
}

}  // namespace fiancee::safetensors
