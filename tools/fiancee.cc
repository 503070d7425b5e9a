// The `fiancee` command line tool: dispatches to one file per subcommand
// (train-*, build-db and eval arrive with their issues).
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/guide_db.h"
#include "core/package.h"
#include "models/registry.h"
#include "pipelines/reenact_package.h"
#include "tools/args.h"

namespace fiancee::tools {

using fiancee::Package;

const char* kUsage =
    "usage: fiancee <command> [options]\n"
    "\n"
    "commands:\n"
    "  inspect PACKAGE                 print what a model package holds and validate it\n"
    "                                  (manifest, hashes, weights against the architecture,\n"
    "                                  route GFLOPs, guide database); exit 1 if invalid\n"
    "  make-demo-package --out DIR     write a small package with random, UNTRAINED weights\n"
    "      [--resolution N] [--channels C] [--seed S] [--no-database] [--nan-branch]\n"
    "  bench (--package DIR | --arch g2d-paper)   time every route, the predictor, the\n"
    "      router and the guide database lookup; table + CSV\n"
    "      [--scale-factors 1/8,1/15] [--device auto|cpu|cuda] [--runs N] [--warmup N]\n"
    "      [--threads N] [--csv FILE]\n"
    "  flops                           our route GFLOPs beside the papers' tables\n"
    "  train-backbone --work DIR       train the reenactment backbone on procedural heads\n"
    "      [--resolution 128] [--channels 32] [--identities 64] [--scale-factors 1/2,1/4]\n"
    "      [--steps 600] [--batch 8] [--lr 2e-4] [--seed 1]\n"
    "  train-branches --work DIR       distil every exit of every scale factor from the backbone\n"
    "      [--steps 400] [--batch 8] [--adversarial-weight 0.05]\n"
    "  train-predictor --work DIR      train the exit predictor, then write the package\n"
    "      [--steps 300] [--batch 16] [--out DIR] [--name NAME] [--database-size 48] [--overwrite]\n"
    "      [--avatar-only]  (train on the avatar identity alone, e.g. to continue a run for one source)\n"
    "      (all train-* resume from <work>/checkpoints and log losses to CSV there;\n"
    "       --fixed-batch repeats the first batch, to check that a loss falls)\n"
    "  build-db --package DIR --source VIDEO_OR_FOLDER [--size 960]\n"
    "                                  guide database of the source person: face keys of every\n"
    "                                  frame with a face, farthest-point sampled to --size\n"
    "  eval PACKAGE                    threshold sweep on held-out frames: exit shares, GFLOPs,\n"
    "      measured quality, misses, database effect, predictor error; CSV + PNG\n"
    "      [--out DIR] [--frames 200] [--scale-factor SF] [--max-threshold 0.5] [--threshold-step 0.025]\n"
    "  help                            this text\n";

int inspect(const Args& args) {
  if (args.positional.size() != 1) throw fiancee::InputError("inspect takes one package directory");
  const Package pkg = Package::open(args.positional[0]);
  const auto& m = pkg.manifest();
  std::printf("package      %s\n", pkg.dir().c_str());
  std::printf("name         %s (format version %d)\n", m.name.c_str(), fiancee::Manifest::kFormatVersion);
  if (!m.description.empty()) std::printf("description  %s\n", m.description.c_str());
  if (m.untrained) std::printf("WARNING      weights are UNTRAINED (random): output is not a real rendering\n");
  std::printf("pipeline     %s, architecture %s\n", m.pipeline.c_str(), m.family.c_str());
  std::printf("input        %dx%d x%d, range [%g, %g]\n", m.input.width, m.input.height, m.input.channels, m.input.range_min, m.input.range_max);
  std::printf("output       %dx%d x%d, range [%g, %g]\n", m.output.width, m.output.height, m.output.channels, m.output.range_min, m.output.range_max);
  std::printf("metric       %s: %s; default threshold %g\n", m.metric.c_str(), m.metric_unit.c_str(), m.default_threshold);
  std::printf("exits        %d (%d branches + backbone), default scale factor %s\n", m.num_exits(), m.num_exits() - 1, m.default_scale_factor.c_str());
  std::printf("route GFLOPs (1 MAC = 1 FLOP; exits 0..%d, backbone last)\n", m.num_exits() - 1);
  for (const auto& sf : m.scale_factors) {
    std::printf("  SF %-6s", sf.name.c_str());
    for (double g : sf.route_gflops) std::printf(" %10.4f", g);
    std::printf("   (%s)\n", sf.weights.c_str());
  }
  if (m.guide_database) {
    const auto db = pkg.guide_database();
    std::printf("guide db     %lld entries, %d-d keys (%s), %s search\n", static_cast<long long>(db->size()),
                m.guide_database->key_dim, m.guide_database->key_description.c_str(), db->exact() ? "exact" : "approximate (IVF)");
  } else {
    std::printf("guide db     none\n");
  }
  if (!m.torchscript.empty()) std::printf("torchscript  %zu stage modules\n", m.torchscript.size());
  std::printf("files        %zu, all SHA-256 hashes match\n", m.files.size());
  fiancee::models::load_graph(pkg);  // weights against the architecture, route GFLOPs against the manifest
  std::printf("weights      match the architecture; manifest GFLOPs match the architecture\n");
  std::printf("valid\n");
  return 0;
}

int make_demo_package(const Args& args) {
  fiancee::DemoPackageOptions o;
  const std::string out = args.get("--out", "");
  if (out.empty()) throw fiancee::InputError("make-demo-package needs --out DIR");
  o.resolution = args.integer("--resolution", o.resolution);
  o.base_channels = args.integer("--channels", o.base_channels);
  o.seed = static_cast<uint64_t>(args.integer("--seed", static_cast<int>(o.seed)));
  o.with_database = !args.options.count("--no-database");
  o.nan_branch = args.options.count("--nan-branch") > 0;
  fiancee::write_demo_package(out, o);
  std::printf("wrote %s (UNTRAINED random weights, %dx%d; source image %s/source.png)\n", out.c_str(), o.resolution, o.resolution, out.c_str());
  return 0;
}

}  // namespace fiancee::tools

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "help") || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::fputs(fiancee::tools::kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const std::string cmd = argv[1];
  try {
    using fiancee::tools::Args;
    if (cmd == "inspect") return fiancee::tools::inspect(Args(argc, argv, 2, {}));
    if (cmd == "make-demo-package") return fiancee::tools::make_demo_package(Args(argc, argv, 2, {"--no-database", "--nan-branch"}));
    if (cmd == "bench") return fiancee::tools::bench(Args(argc, argv, 2, {}));
    if (cmd == "flops") return fiancee::tools::flops(Args(argc, argv, 2, {}));
    if (cmd == "build-db") return fiancee::tools::build_db(Args(argc, argv, 2, {}));
    if (cmd == "eval") return fiancee::tools::eval(Args(argc, argv, 2, {}));
    if (cmd == "train-backbone") return fiancee::tools::train_backbone(Args(argc, argv, 2, {"--quiet", "--fixed-batch"}));
    if (cmd == "train-branches") return fiancee::tools::train_branches(Args(argc, argv, 2, {"--quiet", "--fixed-batch"}));
    if (cmd == "train-predictor") return fiancee::tools::train_predictor(Args(argc, argv, 2, {"--quiet", "--overwrite", "--avatar-only", "--fixed-batch"}));
    std::fprintf(stderr, "fiancee: unknown command '%s'\n\n%s", cmd.c_str(), fiancee::tools::kUsage);
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fiancee %s: error: %s\n", cmd.c_str(), e.what());
    return 1;
  }
}
