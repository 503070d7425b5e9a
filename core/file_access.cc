#include "core/file_access.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

#include "core/errors.h"

namespace fiancee {

namespace fs = std::filesystem;

namespace {

std::string errno_text(int err) { return std::generic_category().message(err); }

std::string file_type(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

std::string mib(int64_t bytes) { return std::to_string((bytes + (1 << 20) - 1) >> 20) + " MiB"; }

}  // namespace

RegularFile::RegularFile(const std::string& path, FileKind kind, int64_t max_bytes, const std::string& what)
    : kind_(kind), what_(what.empty() ? path : what) {
  // O_NONBLOCK: opening a FIFO without a writer must not wait for one.
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd_ < 0) {
    const int err = errno;
    if (err == ENOENT && kind == FileKind::Input) throw NotFoundError(what_ + ": no such file");
    fail(err == ENOENT ? "no such file" : "cannot open (" + errno_text(err) + ")");
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0) fail("cannot stat (" + errno_text(errno) + ")");
  if (!S_ISREG(st.st_mode)) fail("is " + file_type(st.st_mode) + ", not a regular file");
  size_ = static_cast<int64_t>(st.st_size);
  if (size_ > max_bytes) fail("is " + mib(size_) + ", more than the " + mib(max_bytes) + " such a file may have");
  // Regular files ignore O_NONBLOCK for reads; clear it anyway so reads mean what they say.
  ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) & ~O_NONBLOCK);
}

RegularFile::~RegularFile() {
  if (fd_ >= 0) ::close(fd_);
}

void RegularFile::fail(const std::string& problem) const {
  if (kind_ == FileKind::Package) throw PackageError(what_ + ": " + problem);
  throw InputError(what_ + ": " + problem);
}

std::string RegularFile::read_all() const {
  std::string out(static_cast<size_t>(size_), '\0');
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t got = ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(done));
    if (got < 0) {
      if (errno == EINTR) continue;
      fail("cannot read (" + errno_text(errno) + ")");
    }
    if (got == 0) fail("file shrank while it was being read");
    done += static_cast<size_t>(got);
  }
  return out;
}

std::string read_regular_file(const std::string& path, FileKind kind, int64_t max_bytes, const std::string& what) {
  return RegularFile(path, kind, max_bytes, what).read_all();
}

void require_inside(const std::string& dir, const std::string& path) {
  std::error_code ec;
  const fs::path root = fs::canonical(dir, ec);
  if (ec) throw PackageError(dir + ": cannot resolve (" + ec.message() + ")");
  const fs::path target = fs::weakly_canonical(path, ec);
  if (ec) throw PackageError(path + ": cannot resolve (" + ec.message() + ")");
  const auto rel = target.lexically_relative(root);
  if (rel.empty() || *rel.begin() == "..")
    throw PackageError(path + ": resolves to " + target.string() + ", outside the package " + root.string() +
                       " (symlinks in a package must stay inside it)");
}

}  // namespace fiancee
