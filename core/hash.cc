#include "core/hash.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <system_error>
#include <vector>

#include "core/errors.h"
#include "core/file_access.h"

namespace fiancee {

std::string sha256_file(const std::string& path) {
  // A regular file only: /dev/zero or a FIFO would be hashed (or waited on) forever.
  const RegularFile file(path, FileKind::Package, kNoSizeCap);

  const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
    throw PackageError(path + ": cannot start SHA-256 (OpenSSL error)");

  // Stream in chunks so multi-gigabyte weight files never sit in memory.
  std::vector<unsigned char> buffer(1 << 20);
  for (;;) {
    const ssize_t got = ::read(file.fd(), buffer.data(), buffer.size());
    if (got < 0) {
      if (errno == EINTR) continue;
      file.fail("cannot read (" + std::generic_category().message(errno) + ")");
    }
    if (got == 0) break;
    if (EVP_DigestUpdate(ctx.get(), buffer.data(), static_cast<size_t>(got)) != 1)
      throw PackageError(path + ": SHA-256 update failed (OpenSSL error)");
  }

  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(ctx.get(), digest, &length) != 1)
    throw PackageError(path + ": SHA-256 finalisation failed (OpenSSL error)");
  static const char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xf];
  }
  return hex;
}

}  // namespace fiancee
