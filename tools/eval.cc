// `fiancee eval`: dispatch by pipeline, and the reenactment half: held-out
// driver frames (procedural renders of the package's avatar identity in poses
// and expressions never used for training or the database). For every frame
// every exit is rendered once, so each threshold's routing is evaluated on the
// same measured qualities (tools/eval_report.h).
#include <torch/torch.h>

#include <cstdio>

#include "core/errors.h"
#include "core/exit_graph.h"
#include "core/guide_db.h"
#include "core/metrics.h"
#include "core/package.h"
#include "models/registry.h"
#include "pipelines/reenact_data.h"
#include "pipelines/reenact_inputs.h"
#include "tools/args.h"
#include "tools/eval_report.h"

namespace fiancee::tools {

int eval(const Args& args) {
  if (args.positional.size() != 1) throw InputError("eval takes one package directory");
  const auto pkg = Package::open(args.positional[0]);
  const auto& m = pkg.manifest();
  if (m.pipeline == "synth") return eval_synth(pkg, args);
  if (m.pipeline != "reenact") throw InputError(pkg.dir() + ": eval handles reenact and synth packages, not '" + m.pipeline + "'");
  const int n = args.integer("--frames", 200);
  auto c = EvalContext::open(pkg, args);
  // Held-out frames: identity 0 (the avatar), a salt no training or database run uses.
  reenact::ProceduralHeads heads(m.input.width, 1, 0, static_cast<uint64_t>(args.integer("--seed", 1)));
  auto source = heads.source(0).unsqueeze(0);
  std::vector<ExitRows> rows;
  const int chunk = 10;
  for (int start = 0; start < n; start += chunk) {
    const int k = std::min(chunk, n - start);
    auto frames = heads.frames(0, k, 0xE7A1 + static_cast<uint64_t>(start));
    rows.push_back(render_exits(*c.graph, c.setup.scale_factor, reenact::backbone_input(source, frames.keys), frames.keys, c.db.get(), *c.metric));
    std::fprintf(stderr, "\reval: %d/%d frames", start + k, n);
  }
  std::fprintf(stderr, "\n");
  const auto f = EvalFrames::stack(rows);
  report_sweep(f, c.setup);
  return 0;
}

}  // namespace fiancee::tools
