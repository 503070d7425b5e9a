#include "core/hash.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "core/errors.h"
#include "tests/fixtures.h"

namespace fiancee {
namespace {

std::string write_file(const testing::TempDir& dir, const std::string& name, const std::string& bytes) {
  const std::string path = dir.file(name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

TEST(Hash, Abc) {
  testing::TempDir dir;
  EXPECT_EQ(sha256_file(write_file(dir, "abc", "abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Hash, EmptyFile) {
  testing::TempDir dir;
  EXPECT_EQ(sha256_file(write_file(dir, "empty", "")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// NIST vector: one million 'a', which spans several read chunks.
TEST(Hash, MillionAsSpansChunks) {
  testing::TempDir dir;
  EXPECT_EQ(sha256_file(write_file(dir, "a", std::string(1'000'000, 'a'))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Hash, MissingFileNamesPath) {
  testing::TempDir dir;
  const std::string path = dir.file("absent");
  try {
    sha256_file(path);
    FAIL() << "expected PackageError";
  } catch (const PackageError& e) {
    EXPECT_EQ(std::string(e.what()), path + ": no such file");
  }
}

TEST(Hash, DirectoryIsNotAFile) {
  testing::TempDir dir;
  try {
    sha256_file(dir.path());
    FAIL() << "expected PackageError";
  } catch (const PackageError& e) {
    EXPECT_EQ(std::string(e.what()), dir.path() + ": is a directory, not a regular file");
  }
}

}  // namespace
}  // namespace fiancee
