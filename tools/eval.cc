// `fiancee eval`: dispatch by pipeline, and the reenactment half on held-out
// procedural identities (never seen in training): self-reenactment pairs
// turned into refiner inputs exactly as at run time. Every exit renders every
// frame once, so each threshold's routing is evaluated on the same measured
// qualities (tools/eval_report.h).
#include <torch/torch.h>

#include <cstdio>

#include "core/errors.h"
#include "core/exit_graph.h"
#include "core/metrics.h"
#include "core/package.h"
#include "datasets/reenact_data.h"
#include "tools/commands.h"
#include "tools/eval_report.h"

namespace fiancee::tools {

int eval(const Options& args) {
  if (args.positional.size() != 1) throw InputError("eval takes one package directory");
  const auto pkg = Package::open(args.positional[0]);
  const auto& m = pkg.manifest();
  if (m.pipeline == "synth") return eval_synth(pkg, args);
  if (m.pipeline != "reenact") throw InputError(pkg.dir() + ": eval handles reenact and synth packages, not '" + m.pipeline + "'");
  const int n = args.integer("--frames", 200);
  auto c = EvalContext::open(pkg, args);
  // Two disjoint sets of held-out identities: thresholds are picked on validation, reported on test.
  const std::string split = args.get("--split", "test");
  if (split != "test" && split != "validation") throw InputError("--split must be test or validation");
  c.setup.split = split + " split";
  reenact::ProceduralHeads heads(m.input.width, reenact::kHeldOutIdentities, static_cast<uint64_t>(args.integer("--seed", 1)),
                                 split == "test" ? reenact::kTestIdentities : reenact::kValidationIdentities);
  std::vector<ExitRows> rows;
  const int chunk = 10;
  for (int start = 0; start < n; start += chunk) {
    const int k = std::min(chunk, n - start);
    const auto b = reenact::make_batch(heads.pairs(k, static_cast<uint64_t>(start)), 0.f, static_cast<uint64_t>(start));
    rows.push_back(render_exits(*c.graph, c.setup.scale_factor, b.input, b.key, c.db.get(), *c.metric));
    std::fprintf(stderr, "\reval: %d/%d frames", start + k, n);
  }
  std::fprintf(stderr, "\n");
  report_sweep(EvalFrames::stack(rows), c.setup);
  return 0;
}

}  // namespace fiancee::tools
