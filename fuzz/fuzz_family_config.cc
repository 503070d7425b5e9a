// libFuzzer harness: the architecture config readers of every registered
// network family (models/registry.h; G2DConfig, OasisConfig, AsapConfig,
// CrepsConfig, TorchScriptConfig ::from_json through the table).
// The input is parsed as JSON (inputs that are not JSON are skipped: that is
// nlohmann's parser, not ours; Manifest::parse refuses them before any family
// sees them). Each family's key_dim and, where set, synth_shape must return
// or throw a fiancee::Error; anything else that escapes, any crash, leak or
// undefined behaviour is a finding. `build` is not called: it allocates the
// model. Built and run by scripts/fuzz.sh.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>

#include "core/errors.h"
#include "models/registry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto architecture = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (architecture.is_discarded()) return 0;
  for (const auto& family : fiancee::models::families()) {
    try {
      if (family.key_dim) (void)family.key_dim(architecture, "fuzz");
    } catch (const fiancee::Error&) {
    }
    try {
      if (family.synth_shape) (void)family.synth_shape(architecture, "fuzz");
    } catch (const fiancee::Error&) {
    }
  }
  return 0;
}
