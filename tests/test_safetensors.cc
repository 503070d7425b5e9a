#include "core/safetensors.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/errors.h"
#include "tests/fixtures.h"

namespace fiancee {
namespace {

using safetensors::Metadata;
using safetensors::TensorMap;

std::string le64(uint64_t v) {
  std::string out;
  for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}

// A safetensors file spelled out byte by byte: length, header, `data_bytes` zero bytes.
std::string file_with(const std::string& header, size_t data_bytes = 0) {
  return le64(header.size()) + header + std::string(data_bytes, '\0');
}

std::string write_file(const testing::TempDir& dir, const std::string& bytes) {
  const std::string path = dir.file("w.safetensors");
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The PackageError message `load` throws, or "" if it loads.
std::string load_error(const std::string& path) {
  try {
    safetensors::load(path);
  } catch (const PackageError& e) {
    return e.what();
  }
  return "";
}

void expect_same(const torch::Tensor& got, const torch::Tensor& want, const std::string& name) {
  SCOPED_TRACE(name);
  ASSERT_EQ(got.scalar_type(), want.scalar_type());
  ASSERT_EQ(got.sizes(), want.sizes());
  ASSERT_TRUE(got.is_contiguous());
  const torch::Tensor w = want.contiguous();
  // Bytewise, so NaN payloads and -0.0 must survive too. Empty tensors may
  // have no storage, and memcmp on null pointers is undefined even for 0 bytes.
  if (w.nbytes() > 0) EXPECT_EQ(std::memcmp(got.data_ptr(), w.data_ptr(), w.nbytes()), 0);
}

TEST(Safetensors, RoundTripsEveryDtype) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const TensorMap tensors = {
      {"f64", torch::randn({2, 3}, torch::kFloat64)},
      {"f32", torch::tensor({-0.0f, inf, -inf, nan, 1.5f})},
      {"f16", torch::randn({4}).to(torch::kFloat16)},
      {"bf16", torch::randn({3, 1}).to(torch::kBFloat16)},
      {"i64", torch::randint(-(1LL << 40), 1LL << 40, {5}, torch::kInt64)},
      {"i32", torch::randint(-100000, 100000, {2, 2}, torch::kInt32)},
      {"i16", torch::randint(-30000, 30000, {3}, torch::kInt16)},
      {"i8", torch::randint(-128, 128, {7}, torch::kInt8)},
      {"u8", torch::randint(0, 256, {2, 2, 2}, torch::kUInt8)},
      {"bool", torch::randint(0, 2, {6}).to(torch::kBool)},
      {"empty", torch::empty({0, 3}, torch::kFloat32)},
      {"scalar", torch::tensor(42.0, torch::kFloat64).reshape({})},
  };
  testing::TempDir dir;
  const std::string path = dir.file("all.safetensors");
  safetensors::save(path, tensors);
  const TensorMap loaded = safetensors::load(path);
  ASSERT_EQ(loaded.size(), tensors.size());
  for (const auto& [name, want] : tensors) {
    ASSERT_EQ(loaded.count(name), 1u) << name;
    expect_same(loaded.at(name), want, name);
  }
  EXPECT_EQ(loaded.at("scalar").dim(), 0);
  EXPECT_EQ(loaded.at("empty").numel(), 0);
}

TEST(Safetensors, RoundTripsMetadata) {
  testing::TempDir dir;
  const std::string path = dir.file("m.safetensors");
  const Metadata want = {{"format", "pt"}, {"note", "grüße, \"quoted\""}, {"empty", ""}};
  safetensors::save(path, {{"w", torch::ones({2})}}, want);
  Metadata got = {{"stale", "value"}};
  safetensors::load(path, &got);
  EXPECT_EQ(got, want);

  safetensors::save(path, {{"w", torch::ones({2})}});
  safetensors::load(path, &got);
  EXPECT_TRUE(got.empty());
}

TEST(Safetensors, RoundTripsNoTensors) {
  testing::TempDir dir;
  const std::string path = dir.file("none.safetensors");
  safetensors::save(path, {});
  EXPECT_TRUE(safetensors::load(path).empty());
}

TEST(Safetensors, SavesNonContiguousAsContiguous) {
  testing::TempDir dir;
  const std::string path = dir.file("t.safetensors");
  const torch::Tensor transposed = torch::arange(6, torch::kFloat32).reshape({2, 3}).t();
  safetensors::save(path, {{"t", transposed}});
  expect_same(safetensors::load(path).at("t"), transposed, "t");
}

TEST(Safetensors, WritesSortedPaddedHeaderAndNoTempFiles) {
  testing::TempDir dir;
  const std::string path = dir.file("s.safetensors");
  safetensors::save(path, {{"b", torch::zeros({1}, torch::kFloat64)}, {"a", torch::zeros({1}, torch::kFloat32)}});
  safetensors::save(path, {{"b", torch::zeros({1}, torch::kFloat64)}, {"a", torch::zeros({1}, torch::kFloat32)}},
                    {{"k", "v"}});  // overwrite in place

  const std::string bytes = read_file(path);
  ASSERT_GE(bytes.size(), 8u);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  EXPECT_EQ((8 + n) % 8, 0u);
  ASSERT_EQ(bytes.size(), 8 + n + 12);
  const std::string header = bytes.substr(8, n);
  const auto json_end = header.find_last_not_of(' ') + 1;
  EXPECT_EQ(header.substr(json_end), std::string(n - json_end, ' '));
  const auto json = nlohmann::json::parse(header);
  EXPECT_EQ(json["a"]["data_offsets"], nlohmann::json({0, 4}));
  EXPECT_EQ(json["b"]["data_offsets"], nlohmann::json({4, 12}));
  EXPECT_EQ(json["__metadata__"], nlohmann::json({{"k", "v"}}));

  std::vector<std::string> entries;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) entries.push_back(entry.path());
  EXPECT_EQ(entries, std::vector<std::string>{path});
}

TEST(Safetensors, SaveRejectsWhatItCannotStore) {
  testing::TempDir dir;
  const std::string path = dir.file("bad.safetensors");
  try {
    safetensors::save(path, {{"c", torch::zeros({2}, torch::kComplexFloat)}});
    FAIL() << "expected PackageError";
  } catch (const PackageError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ": tensor 'c' has dtype ComplexFloat", 0), 0u) << e.what();
  }
  EXPECT_THROW(safetensors::save(path, {{"__metadata__", torch::zeros({1})}}), PackageError);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));

  const std::string nowhere = dir.file("missing/x.safetensors");
  try {
    safetensors::save(nowhere, {{"w", torch::zeros({1})}});
    FAIL() << "expected PackageError";
  } catch (const PackageError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(nowhere, 0), 0u) << e.what();
    EXPECT_NE(std::string(e.what()).find("cannot create (No such file or directory)"), std::string::npos);
  }
}

TEST(Safetensors, MissingFile) {
  testing::TempDir dir;
  const std::string path = dir.file("absent.safetensors");
  EXPECT_EQ(load_error(path), path + ": no such file");
}

TEST(Safetensors, DirectoryIsNotAFile) {
  testing::TempDir dir;
  EXPECT_EQ(load_error(dir.path()), dir.path() + ": is a directory, not a regular file");
}

TEST(Safetensors, SpecialFilesAreRefusedWithoutReading) {
  testing::TempDir dir;
  // /dev/zero would be read forever; a FIFO without a writer would block the open.
  const std::string zero = dir.file("zero.safetensors"), fifo = dir.file("fifo.safetensors");
  std::filesystem::create_symlink("/dev/zero", zero);
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_EQ(load_error(zero), zero + ": is a character device, not a regular file");
  EXPECT_EQ(load_error(fifo), fifo + ": is a FIFO, not a regular file");
}

TEST(Safetensors, DeeplyNestedHeaderIsRefusedAtTheFormatsDepth) {
  testing::TempDir dir;
  // 4 MB of nesting, stopped at the fourth level instead of parsed whole.
  const std::string nested = "{\"a\":" + std::string(2'000'000, '[') + std::string(2'000'000, ']') + "}";
  const std::string path = write_file(dir, file_with(nested));
  EXPECT_EQ(load_error(path), path + ": header nests deeper than the 3 levels of the format");
}

TEST(Safetensors, HeaderOverLimit) {
  testing::TempDir dir;
  const std::string path = write_file(dir, le64(16'000'000));
  // Sparse, so the file is large enough for the header without using disk.
  ASSERT_EQ(::truncate(path.c_str(), 8 + 16'000'000), 0);
  EXPECT_EQ(load_error(path), path + ": header length 16000000 exceeds the limit of 16000000 bytes");
}

TEST(Safetensors, SizeMismatchMessage) {
  testing::TempDir dir;
  const std::string path =
      write_file(dir, file_with(R"({"conv.weight":{"dtype":"F32","shape":[3,3],"data_offsets":[0,10]}})", 10));
  EXPECT_EQ(load_error(path),
            path + ": tensor 'conv.weight' data_offsets [0, 10] do not match F32 shape [3, 3] (36 bytes)");
}

struct Corruption {
  std::string name;
  std::string bytes;
  std::string phrase;
};

class SafetensorsCorrupt : public ::testing::TestWithParam<Corruption> {};

TEST_P(SafetensorsCorrupt, ThrowsPackageErrorNamingFileAndFault) {
  testing::TempDir dir;
  const std::string path = write_file(dir, GetParam().bytes);
  const std::string message = load_error(path);
  EXPECT_EQ(message.rfind(path + ": ", 0), 0u) << message;
  EXPECT_NE(message.find(GetParam().phrase), std::string::npos) << message;
}

std::string f32(const std::string& name, const std::string& shape, const std::string& offsets) {
  return "\"" + name + R"(":{"dtype":"F32","shape":)" + shape + R"(,"data_offsets":)" + offsets + "}";
}

INSTANTIATE_TEST_SUITE_P(
    Safetensors, SafetensorsCorrupt,
    ::testing::Values(
        Corruption{"truncated", std::string("\x02\x00\x00", 3), "truncated file: 3 bytes"},
        Corruption{"header_beyond_file", le64(1000) + "{}", "header length 1000 runs past the end of the file (10 bytes)"},
        Corruption{"invalid_json", file_with(R"({"a": )"), "header is not valid JSON"},
        Corruption{"invalid_utf8", file_with("{\"\xff\":{}}"), "header is not valid JSON"},
        Corruption{"not_object", file_with("[1, 2]"), "header is not a JSON object"},
        Corruption{"duplicate_name", file_with("{" + f32("a", "[1]", "[0,4]") + "," + f32("a", "[1]", "[0,4]") + "}", 4),
                   "header has duplicate key 'a'"},
        Corruption{"overlap", file_with("{" + f32("a", "[2]", "[0,8]") + "," + f32("b", "[2]", "[4,12]") + "}", 12),
                   "tensor 'b' data_offsets [4, 12] overlap tensor 'a' [0, 8]"},
        Corruption{"gap", file_with("{" + f32("a", "[1]", "[0,4]") + "," + f32("b", "[1]", "[8,12]") + "}", 12),
                   "gap of 4 bytes in the data section at offset 4, before tensor 'b'"},
        Corruption{"trailing", file_with("{" + f32("a", "[1]", "[0,4]") + "}", 8),
                   "4 trailing bytes in the data section after the last tensor"},
        Corruption{"past_data_end", file_with("{" + f32("a", "[2]", "[0,8]") + "}", 4),
                   "tensor 'a' data_offsets [0, 8] run past the end of the data section (4 bytes)"},
        Corruption{"size_mismatch", file_with("{" + f32("a", "[3]", "[0,8]") + "}", 8),
                   "tensor 'a' data_offsets [0, 8] do not match F32 shape [3] (12 bytes)"},
        Corruption{"unknown_dtype", file_with(R"({"a":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}})", 1),
                   "tensor 'a' has unsupported dtype 'F8_E4M3'"},
        Corruption{"dtype_not_string", file_with(R"({"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}})", 4),
                   "tensor 'a' dtype 4 is not a string"},
        Corruption{"extra_field",
                   file_with(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}})", 4),
                   "tensor 'a' has unexpected field 'extra'"},
        Corruption{"missing_field", file_with(R"({"a":{"dtype":"F32","data_offsets":[0,4]}})", 4),
                   "tensor 'a' lacks field 'shape'"},
        Corruption{"entry_not_object", file_with(R"({"a":3})"), "tensor 'a' is not a JSON object"},
        Corruption{"negative_dim", file_with("{" + f32("a", "[-1]", "[0,4]") + "}", 4),
                   "tensor 'a' shape [-1] is not an array of non-negative integers"},
        Corruption{"float_dim", file_with("{" + f32("a", "[1.0]", "[0,4]") + "}", 4),
                   "is not an array of non-negative integers"},
        Corruption{"huge_shape", file_with("{" + f32("a", "[4611686018427387904,4]", "[0,4]") + "}", 4),
                   "is too large"},
        Corruption{"offsets_not_pair", file_with("{" + f32("a", "[1]", "[0]") + "}", 4),
                   "tensor 'a' data_offsets [0] is not a pair of non-negative integers"},
        Corruption{"offsets_reversed", file_with("{" + f32("a", "[0]", "[4,0]") + "}", 4),
                   "tensor 'a' data_offsets [4, 0] end before they begin"},
        Corruption{"metadata_not_object", file_with(R"({"__metadata__":[]})"), "__metadata__ is not a JSON object"},
        Corruption{"metadata_value_not_string", file_with(R"({"__metadata__":{"k":1}})"),
                   "__metadata__ value for 'k' is not a string"},
        Corruption{"bool_not_0_or_1",
                   file_with(R"({"a":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}})") + std::string("\x01\x02", 2),
                   "tensor 'a' BOOL element 1 is byte 2, not 0 or 1"}),
    [](const ::testing::TestParamInfo<Corruption>& info) { return info.param.name; });

}  // namespace
}  // namespace fiancee
