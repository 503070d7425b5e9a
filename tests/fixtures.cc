#include "tests/fixtures.h"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "core/errors.h"

namespace fiancee::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string templ = std::string(base && *base ? base : "/tmp") + "/fiancee-test-XXXXXX";
  if (!mkdtemp(templ.data())) throw std::runtime_error("cannot create a temporary directory");
  path_ = templ;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const fiancee::PackageError& e) {
    return e.what();
  }
  return "(no PackageError)";
}

}  // namespace fiancee::testing
