// Opening the files that packages and users name without hanging or running
// out of memory on special files: only regular files are read (a FIFO, a
// device such as /dev/zero, a directory or a socket is refused, and the open
// itself never blocks), each kind of file has a size cap, and a package's
// files may not leave the package through symlinks.
#pragma once

#include <cstdint>
#include <string>

namespace fiancee {

// Which typed error a failure throws: PackageError for package files,
// InputError (NotFoundError when missing) for files the user names.
enum class FileKind { Package, Input };

// Size caps, far above real files of each kind and far below what hurts.
inline constexpr int64_t kMaxJsonBytes = 4 << 20;            // manifest.json, sidecars
inline constexpr int64_t kMaxPhotoBytes = int64_t{256} << 20;  // an encoded photo
inline constexpr int64_t kNoSizeCap = INT64_MAX;              // weights: checked against their header instead

// An open regular file (read-only, closed on destruction).
class RegularFile {
 public:
  // `what` prefixes messages ("source-location 'x.png'"); by default the path.
  RegularFile(const std::string& path, FileKind kind, int64_t max_bytes, const std::string& what = "");
  ~RegularFile();
  RegularFile(const RegularFile&) = delete;
  RegularFile& operator=(const RegularFile&) = delete;

  int fd() const { return fd_; }
  int64_t size() const { return size_; }
  const std::string& what() const { return what_; }
  // The whole file (it is at most max_bytes, checked at open).
  std::string read_all() const;
  [[noreturn]] void fail(const std::string& problem) const;

 private:
  int fd_ = -1;
  int64_t size_ = 0;
  FileKind kind_;
  std::string what_;
};

// The whole of a regular file of at most max_bytes.
std::string read_regular_file(const std::string& path, FileKind kind, int64_t max_bytes, const std::string& what = "");

// Throws PackageError unless `path`, symlinks resolved, lies inside `dir`.
void require_inside(const std::string& dir, const std::string& path);

}  // namespace fiancee
