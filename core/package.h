// A model package on disk: a directory holding manifest.json and the files it
// names. open() validates the manifest, that every listed file exists and
// that its SHA-256 matches; a package failing any check is refused whole.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "core/calibration.h"

#include "core/manifest.h"
#include "core/safetensors.h"

namespace fiancee {

class GuideDatabase;

class Package {
 public:
  static Package open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const Manifest& manifest() const { return manifest_; }
  std::string path(const std::string& file) const { return dir_ + "/" + file; }

  // Weights of one file named by the manifest.
  safetensors::TensorMap tensors(const std::string& file) const;
  // Calibration frames per scale factor name (core/calibration.h); scale factors without them are absent.
  std::map<std::string, Calibration> calibrations() const;
  // The package's guide database (or one at `override_dir`, same prefix), checked
  // against the manifest's key size and value shape. nullptr if none.
  std::shared_ptr<GuideDatabase> guide_database(const std::string& override_dir = "") const;

  // Writes manifest.json with `files` hashed from what is in dir (all names the
  // manifest references). Used by the tools that create packages.
  static void write(const std::string& dir, Manifest manifest);

 private:
  std::string dir_;
  Manifest manifest_;
};

}  // namespace fiancee
