// Writes a small, complete model package with random (untrained) weights:
// the fixture of the tests and the package the README's first command runs
// until trained packages are bundled. Its manifest says "untrained": true.
#pragma once

#include <cstdint>
#include <string>

namespace fiancee {

struct DemoPackageOptions {
  int resolution = 64;           // square input/output size
  int base_channels = 32;        // backbone width
  uint64_t seed = 1;
  bool with_database = true;     // a guide database of procedural source images
  bool nan_branch = false;       // poison branch 0 with NaN weights (tests the fallback)
};

// Creates `dir` (must not exist or be empty). Throws fiancee::Error on failure.
void write_demo_package(const std::string& dir, const DemoPackageOptions& options = {});

}  // namespace fiancee
