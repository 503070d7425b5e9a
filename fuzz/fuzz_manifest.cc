// libFuzzer harness: the package manifest reader (core/manifest.h).
// Manifest::parse must turn any text into either a Manifest or a
// fiancee::Error (PackageError naming the field). Anything else that escapes
// (std::out_of_range, nlohmann::json::exception, ...) or any crash, leak or
// undefined behaviour is a finding. Built and run by scripts/fuzz.sh.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/errors.h"
#include "core/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  fiancee::Manifest m;
  try {
    m = fiancee::Manifest::parse(text, "fuzz");
  } catch (const fiancee::Error&) {
    return 0;  // the documented failure: a typed error naming the field
  }
  // A manifest that parsed must survive what the tools do with it, and what
  // dump() writes (Package::write) must read back: a dump that the
  // reader refuses is a finding too.
  (void)m.num_exits();
  const std::string dumped = m.dump();
  try {
    (void)fiancee::Manifest::parse(dumped, "fuzz-dump");
  } catch (const fiancee::Error& e) {
    std::fprintf(stderr, "fuzz_manifest: a parsed manifest's dump() does not parse again: %s\n", e.what());
    std::abort();
  }
  return 0;
}
