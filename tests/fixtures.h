// Fixtures the tests generate themselves: temporary directories and tiny model packages.
#pragma once

#include <functional>
#include <string>

namespace fiancee::testing {

// A fresh, empty directory under $TMPDIR, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The message of the PackageError that f throws, or "(no PackageError)".
std::string error_of(const std::function<void()>& f);

}  // namespace fiancee::testing
